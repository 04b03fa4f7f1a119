"""The ``jinit`` command: ``jinit list`` and ``jinit check``."""

from __future__ import annotations

import law_cases
import pytest

from jinit._src import cli

NAMES = [e.name for e in law_cases.entries()]


def rows(out: str, names) -> dict[str, str]:
    """The table row of each scheme, by name."""
    found = {}
    for line in out.splitlines():
        first = line.split(" ", 1)[0]
        if first in names:
            found[first] = line
    return found


def test_list(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    table = rows(out, NAMES)
    assert set(table) == set(NAMES), set(NAMES) - set(table)
    for e in law_cases.entries():
        assert table[e.name].split() == [e.name, e.family]
    assert f"{len(NAMES)} schemes" in out


def test_check_every_scheme(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    table = rows(out, NAMES)
    assert set(table) == set(NAMES), set(NAMES) - set(table)
    for line in table.values():
        assert line.rstrip().endswith("pass"), line
    assert f"{len(NAMES)}/{len(NAMES)} schemes draw the law they claim" in out


def test_check_columns(capsys):
    assert cli.main(["check", "he_normal", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "dtype=float32, seed=3" in out
    line = rows(out, ["he_normal"])["he_normal"]
    shape = law_cases.get("he_normal").cases()[0].shape
    assert "x".join(map(str, shape)) in line
    law = law_cases.get("he_normal").cases()[0].init.moments(shape)
    # The expected variance column is the formula's, 2 / fan_in.
    assert f"{law.variance:.5g}" in line
    assert law.variance == pytest.approx(2.0 / shape[0])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_check_half_precision(capsys, dtype):
    assert cli.main(["check", "glorot_uniform", "lecun_normal", "normal", "--dtype", dtype]) == 0
    out = capsys.readouterr().out
    assert f"dtype={dtype}" in out
    assert all(line.rstrip().endswith("pass") for line in rows(out, NAMES).values())


def test_check_shape_option(capsys):
    assert cli.main(["check", "he_uniform", "orthogonal", "--shape", "64x32"]) == 0
    out = capsys.readouterr().out
    table = rows(out, NAMES)
    assert set(table) == {"he_uniform", "orthogonal"}
    assert all("64x32" in line and line.rstrip().endswith("pass") for line in table.values())


def test_check_fails_when_the_tolerance_cannot_hold(capsys):
    # n_sigma = 0 leaves only rounding slack: a random law cannot pass, so the
    # command must report FAIL and exit 1 (the check is able to fail).
    assert cli.main(["check", "he_normal", "--n-sigma", "0"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in rows(out, ["he_normal"])["he_normal"]
    assert "0/1 schemes draw the law they claim" in out


def test_unknown_scheme(capsys):
    assert cli.main(["check", "nope"]) == 2
    err = capsys.readouterr().err
    assert "error: jinit check: unknown scheme 'nope'. See `jinit list`." in err


def test_bad_shape(capsys):
    assert cli.main(["check", "he_normal", "--shape", "3x?"]) == 2
    assert "shape must look like 256,512 or 3x3x64x128; got '3x?'" in capsys.readouterr().err


def test_no_command(capsys):
    assert cli.main([]) == 2
