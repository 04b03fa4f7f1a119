"""The command line validates every argument before computing: one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import jinit
from jinit._src import cli


def run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    rc = cli.main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def one_line_error(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["propagate", "--every", "-3", "--depth", "2", "--width", "4"], ["--every must be at least 1; got -3"]),
        (["check", "he_normal", "--n-sigma", "nan"], ["--n-sigma", "finite number >= 0", "'nan'"]),
        (["check", "he_normal", "--n-sigma", "-1"], ["--n-sigma", "finite number >= 0"]),
        (["check", "he_normal", "--seed", "99999999999999999999999"], ["--seed", "must be in"]),
        (["propagate", "--depth", "100000000"], ["jinit propagate: depth 100000000 x width 256", "GiB"]),
        (["propagate", "--width", "100000000"], ["jinit propagate: depth 50 x width 100000000", "GiB"]),
        (["propagate", "--depth", "0"], ["--depth", "must be in [1,"]),
        (["check", "he_normal", "--shape", "100000,100000"], ["jinit check: shape 100000x100000 needs about", "GiB"]),
        (["check", "he_normal", "--shape", "4,-2"], ["shape dimensions must be >= 0"]),
        (["explain", "he_normle"], ["jinit explain: unknown scheme 'he_normle'. Did you mean he_normal"]),
        (["check", "kaiming_nromal"], ["Did you mean kaiming_normal"]),
        (["explain", "gpt2_residual", "n_layer=-1"], ["jinit.gpt2_residual"]),
        (["explain", "gpt2_residual", "24"], ["hyperparameters look like n_layer=24; got '24'"]),
        (["explain", "gpt2_residual", "depth=3"], ["gpt2_residual", "depth"]),
        (["explain", "fixup_scale"], ["fixup_scale", "num_branches=..."]),
        (["explain", "gain"], ["gain"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] in ("check", "explain", "propagate") else "",
)
def test_bad_arguments_give_one_line_and_exit_2(capsys, argv, needles):
    rc, out, err = run_main(capsys, argv)
    assert rc == 2, (out, err)
    one_line_error(err, *needles)
    assert out == ""


def test_out_under_a_file_or_unwritable_is_refused_before_computing(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    rc, out, err = run_main(capsys, ["propagate", "--depth", "2", "--width", "4", "--out", str(blocker / "fig.png")])
    assert rc == 2 and out == ""
    one_line_error(err, "--out lies under a file")
    rc, out, err = run_main(capsys, ["propagate", "--depth", "2", "--width", "4", "--out", str(tmp_path / "fig.txt")])
    assert rc == 2 and out == ""
    one_line_error(err, "--out must end in .png, .svg, .pdf")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        rc, _, err = run_main(capsys, ["propagate", "--depth", "2", "--width", "4", "--out", str(locked / "f.png")])
        assert rc == 2
        one_line_error(err, "permission denied")


def test_out_without_matplotlib_names_the_extra(capsys, monkeypatch, tmp_path):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda n, *a: None if n == "matplotlib" else real(n, *a))
    rc, out, err = run_main(capsys, ["propagate", "--depth", "2", "--width", "4", "--out", str(tmp_path / "f.png")])
    assert rc == 2 and out == ""
    one_line_error(err, "pip install 'jinit[plot]'")


@pytest.mark.parametrize(
    ("name", "same_as"),
    [
        ("kaiming_normal", "he_normal"),
        ("xavier_uniform", "glorot_uniform"),
        ("identity", "eye"),
        ("zer_o", "zero_init"),
    ],
)
def test_explain_accepts_every_alias(capsys, name, same_as):
    rc, out, _ = run_main(capsys, ["explain", name, "--format", "json"])
    assert rc == 0
    got = json.loads(out)
    rc, out, _ = run_main(capsys, ["explain", same_as, "--format", "json"])
    want = json.loads(out)
    assert got["scheme"] == name
    assert got["law"] == want["law"] and got["default"] == want["default"]


def test_explain_every_public_initializer_factory(capsys):
    """Every top-level public name that builds an initializer with no arguments is explained."""
    for name in jinit.__all__:
        obj = getattr(jinit, name)
        if name in {"zeros", "ones"} or not callable(obj) or isinstance(obj, type):
            continue
        try:
            init = obj()
        except (TypeError, ValueError):
            continue  # needs hyperparameters: covered below
        if not hasattr(init, "moments"):
            continue
        rc, _, err = run_main(capsys, ["explain", name, "--format", "json"])
        assert rc == 0, (name, err)


def test_explain_with_hyperparameters(capsys):
    rc, out, _ = run_main(capsys, ["explain", "gpt2_residual", "n_layer=24", "--format", "json"])
    assert rc == 0
    got = json.loads(out)
    assert got["law"]["variance"] == pytest.approx(jinit.gpt2_residual(24).moments((256, 512)).variance, rel=1e-12)
    rc, out, _ = run_main(capsys, ["explain", "torch.kaiming_uniform", "mode=fan_out", "--shape", "32,64"])
    assert rc == 0 and "torch.kaiming_uniform" in out


def test_json_outputs_parse(capsys):
    rc, out, _ = run_main(capsys, ["list", "--format", "json"])
    assert rc == 0 and {e["name"] for e in json.loads(out)} == {e.name for e in jinit.catalog.entries()}
    rc, out, _ = run_main(capsys, ["check", "he_normal", "orthogonal", "--format", "json"])
    got = json.loads(out)
    assert rc == 0 and [r["result"] for r in got["rows"]] == ["pass", "pass"]
    rc, out, _ = run_main(capsys, ["propagate", "--depth", "3", "--width", "8", "--seeds", "2", "--format", "json"])
    got = json.loads(out)
    assert rc == 0 and len(got["second_moment"]["he_normal"]) == 3


def test_help_does_not_import_jax():
    code = "import sys\nfrom jinit._src import cli\nassert cli.main(['--help']) == 0\nassert 'jax' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
