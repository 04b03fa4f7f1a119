"""The diagnostics commands: ``jinit propagate`` and ``jinit explain`` (and ``list``/``check`` still work)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from jinit._src import cli


def test_propagate_prints_rows_and_writes_a_png(capsys, tmp_path):
    out = tmp_path / "sub" / "depth.png"
    rc = cli.main(
        [
            "propagate",
            "--activation",
            "relu",
            "--depth",
            "30",
            "--width",
            "64",
            "--batch",
            "8",
            "--seeds",
            "2",
            "--schemes",
            "he_normal,glorot_normal",
            "--every",
            "4",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    rows = {
        line.split()[0]: line.split()
        for line in text.splitlines()
        if line.split()[:1] in (["he_normal"], ["glorot_normal"])
    }
    assert set(rows) == {"he_normal", "glorot_normal"}
    # Columns: E[z^2] at l=1 and l=L, ...: the same keys make Glorot's z^l exactly He's times 2^(-l/2) (relu).
    he, glorot = rows["he_normal"], rows["glorot_normal"]
    assert float(glorot[2]) == pytest.approx(float(he[2]) * 2.0**-30, rel=1e-3)  # 4 significant digits printed
    # The per-layer tables list layers 1, 4, 8, ..., 28 and the last, 30.
    layer_rows = [int(m.group(1)) for m in re.finditer(r"^\s+(\d+)\s", text, flags=re.M)]
    assert layer_rows == 2 * [1, 4, 8, 12, 16, 20, 24, 28, 30]
    assert f"wrote {out}" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_propagate_errors(capsys):
    assert cli.main(["propagate", "--schemes", "nope", "--depth", "2", "--width", "4"]) == 2
    assert "jinit.propagate: unknown scheme 'nope'" in capsys.readouterr().err
    assert cli.main(["propagate", "--depth", "0"]) == 2
    assert "argument --depth: must be in [1, 2147483647]; got 0" in capsys.readouterr().err


def test_explain_he_normal(capsys):
    assert cli.main(["explain", "he_normal", "--shape", "3,3,64,128"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("he_normal  (family variance_scaling, class VarianceScaling)")
    assert "variance 2 / fan_in" in text  # the formula, from the docstring
    assert "fan_in=576, fan_out=1152" in text
    assert f"variance {2 / 576:.6g}" in text
    assert "He et al. (2015), Delving deep into rectifiers." in text  # the reference it cites, not all of them
    assert "Glorot & Bengio" not in text.split("reference:")[1]
    advised = re.search(r"recommended for \(jinit.recommend\): (.*)", text).group(1).split(", ")
    assert {"relu", "gelu", "silu", "swish"} <= set(advised)
    assert "tanh" not in advised


def test_explain_same_variance_and_law(capsys):
    assert cli.main(["explain", "glorot_normal"]) == 0
    text = capsys.readouterr().out
    assert "recommended for (jinit.recommend): -" in text
    same = re.search(r"same variance as the advice for: (.*)", text).group(1).split(", ")
    assert {"tanh", "sigmoid"} <= set(same)
    assert "mean 0, variance 0.00260417" in text  # 2 / (256 + 512)
    assert f"|w - mean| <= {2 * math.sqrt(2 / 768) / 0.87962566103423978:.6g}" in text
    assert "density: " in text


def test_explain_non_iid_scheme(capsys):
    assert cli.main(["explain", "orthogonal", "--shape", "64,32"]) == 0
    text = capsys.readouterr().out
    assert "not i.i.d." in text and "Saxe" in text
    assert "uniform unit vector in R^64" in text


def test_explain_errors(capsys):
    assert cli.main(["explain", "nope"]) == 2
    assert "jinit explain: unknown scheme 'nope'" in capsys.readouterr().err
    assert cli.main(["explain", "orthogonal", "--shape", "5"]) == 2
    assert "shape needs at least 2 dimensions" in capsys.readouterr().err


def test_list_and_check_still_work(capsys):
    assert cli.main(["list"]) == 0
    assert "he_normal" in capsys.readouterr().out
    assert cli.main(["check", "he_normal", "--shape", "64,64"]) == 0
    assert re.search(r"^he_normal\s+64x64 .* pass$", capsys.readouterr().out, flags=re.M)


def test_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "jinit._src.cli", "explain", "lecun_normal"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "selu" in out.stdout.split("recommended for")[1]
