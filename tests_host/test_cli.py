"""The emlml command: convert, inspect, verify, errors, and the command registry."""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
import pytest
from emlml_dev import zoo
from emlml_dev.blob_edit import set_header
from emlml_tools import cli
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import read_blob

DEMO = {m.name: m for m in zoo.demo_models()}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    out = {}
    for name, m in DEMO.items():
        joblib.dump(m.estimator, root / f"{name}.joblib")
        np.savez(root / f"{name}.npz", X=m.X_test, y=m.y_test)
        out[name] = root / f"{name}.joblib"
    out["root"] = root
    return out


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_convert_writes_the_same_blob_as_the_api(files, capsys, tmp_path) -> None:
    out = tmp_path / "d.bin"
    status, text, err = run(capsys, "convert", files["digits_forest"], "-o", out,
                            "--input-shape", "8,8", "--name", "digits")
    assert status == 0 and err == ""
    assert out.read_bytes() == convert(DEMO["digits_forest"].estimator, input_shape=(8, 8),
                                       name="digits")
    assert "trees classifier" in text and f"{out.stat().st_size} bytes" in text
    assert "bytes per node" in text


def test_convert_knn_options(files, capsys, tmp_path) -> None:
    out = tmp_path / "k.bin"
    status, text, _ = run(capsys, "convert", files["breast_cancer_knn"], "-o", out,
                          "--labels", "malignant,benign", "--knn-samples", "int8",
                          "--input-type", "float32")
    assert status == 0 and "kNN classifier" in text and "bytes per sample" in text
    assert "integer distances" in text
    b = read_blob(out.read_bytes())
    assert b.labels == ["malignant", "benign"] and b.knn.sample_type.name == "INT8"
    assert b.knn.distances.name == "INTEGER"
    status, text, _ = run(capsys, "convert", files["breast_cancer_knn"], "-o", out,
                          "--knn-samples", "int16", "--knn-distances", "float32")
    assert status == 0 and "float32 distances" in text
    assert read_blob(out.read_bytes()).knn.distances.name == "FLOAT32"
    status, _, err = run(capsys, "convert", files["breast_cancer_knn"], "-o", out,
                         "--knn-distances", "integer")
    assert status == 1 and "needs integer samples" in err


def test_convert_errors(files, capsys, tmp_path) -> None:
    status, _, err = run(capsys, "convert", files["breast_cancer_knn"], "-o",
                         tmp_path / "x.bin", "--labels", "a,b,c")
    assert status == 1 and err.startswith("emlml: 3 labels given for 2 classes")
    status, _, err = run(capsys, "convert", tmp_path / "missing.joblib", "-o", tmp_path / "x")
    assert status == 1 and "no such file" in err and "joblib.dump" in err
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    status, _, err = run(capsys, "convert", tmp_path / "junk.pkl", "-o", tmp_path / "x")
    assert status == 1 and err.startswith("emlml: ") and "cannot load a model" in err
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    status, _, err = run(capsys, "convert", tmp_path / "dict.joblib", "-o", tmp_path / "x")
    assert status == 1 and "cannot convert dict" in err
    status, _, err = run(capsys, "convert", files["digits_forest"], "-o", tmp_path / "x",
                         "--input-shape", "8,a")
    assert status == 1 and "--input-shape" in err
    assert not (tmp_path / "x").exists()


def test_inspect(files, capsys, tmp_path) -> None:
    out = tmp_path / "d.bin"
    out.write_bytes(DEMO["digits_forest"].blob())
    status, text, _ = run(capsys, "inspect", out)
    assert status == 0
    for part in ["version 1", "CRC 0x", " ok", "trees classifier", "64 x float32",
                 "shape 8x8", "10 classes", "10 trees", "per node", "arena:",
                 "336 bytes", "routed as scikit-learn does", "0, 1, 2", "scikit-learn", "RandomForestClassifier",
                 "digits_forest"]:
        assert part in text, part
    out.write_bytes(DEMO["breast_cancer_knn"].blob())
    status, text, _ = run(capsys, "inspect", out)
    assert status == 0
    for part in ["kNN classifier", "k=5", "euclidean", "uniform weights", "float32 samples",
                 "per sample", "malignant, benign"]:
        assert part in text, part
    out.write_bytes(DEMO["diabetes_tree"].blob())
    status, text, _ = run(capsys, "inspect", out)
    assert status == 0 and "trees regressor" in text and "1 value" in text


def test_inspect_bad_blob(capsys, tmp_path) -> None:
    data = bytearray(DEMO["wine_extratrees"].blob())
    data[-20] ^= 0xFF
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    status, text, err = run(capsys, "inspect", bad)
    assert status == 1 and text == ""
    assert err == f"emlml: {bad}: CRC mismatch\n"
    bad.write_bytes(set_header(bytes(data), "kind", 7))  # the CRC fixed after it
    status, _, err = run(capsys, "inspect", bad)
    assert status == 1 and "unknown model kind 7" in err
    status, _, err = run(capsys, "inspect", tmp_path / "nothing.bin")
    assert status == 1 and err.startswith("emlml: ") and "no such file" in err


@pytest.mark.parametrize("name", list(DEMO))
def test_verify_npz(files, capsys, tmp_path, name: str) -> None:
    blob = tmp_path / "m.bin"
    blob.write_bytes(DEMO[name].blob())
    status, text, err = run(capsys, "verify", blob, files[name], files["root"] / f"{name}.npz")
    assert status == 0 and err == "", err
    assert "result:     OK" in text
    if DEMO[name].is_classifier:
        assert "100.00 % agreement" in text and "accuracy:" in text
    else:
        assert "max relative diff" in text and "MAE:" in text


def test_verify_npy_and_csv(files, capsys, tmp_path) -> None:
    m = DEMO["wine_extratrees"]
    blob = tmp_path / "w.bin"
    blob.write_bytes(m.blob())
    np.save(tmp_path / "x.npy", m.X_test)
    np.savetxt(tmp_path / "plain.csv", m.X_test, delimiter=",")
    np.savetxt(tmp_path / "header.csv", m.X_test, delimiter=",",
               header=",".join(f"f{i}" for i in range(m.X_test.shape[1])), comments="")
    for data in ("x.npy", "plain.csv", "header.csv"):
        status, text, err = run(capsys, "verify", blob, files["wine_extratrees"],
                                tmp_path / data)
        assert status == 0, err
        assert f"on {len(m.X_test)} samples" in text and "100.00 %" in text


def test_verify_detects_a_mismatch(files, capsys, tmp_path) -> None:
    other = zoo.test_models()[0]  # digits_tree_full: same inputs and classes as digits_forest
    assert other.name == "digits_tree_full"
    blob = tmp_path / "other.bin"
    blob.write_bytes(other.blob())
    status, text, err = run(capsys, "verify", blob, files["digits_forest"],
                            files["root"] / "digits_forest.npz")
    assert status == 1
    assert "predictions differ" in err and "reconvert" in err
    assert "agreement" in text and "result:     OK" not in text


def test_verify_quantized_knn_explains(files, capsys, tmp_path) -> None:
    blob = tmp_path / "q.bin"
    blob.write_bytes(convert(DEMO["breast_cancer_knn"].estimator, knn_samples="int8"))
    status, _, err = run(capsys, "verify", blob, files["breast_cancer_knn"],
                         files["root"] / "breast_cancer_knn.npz")
    assert status == 1 and "quantized" in err and "--knn-samples float32" in err


def test_verify_input_problems(files, capsys, tmp_path) -> None:
    blob = tmp_path / "w.bin"
    blob.write_bytes(DEMO["wine_extratrees"].blob())
    np.save(tmp_path / "narrow.npy", np.zeros((3, 5)))
    status, _, err = run(capsys, "verify", blob, files["wine_extratrees"],
                         tmp_path / "narrow.npy")
    assert status == 1 and "13 inputs per row" in err
    x = DEMO["wine_extratrees"].X_test.copy()
    x[0, 0] = np.inf  # NaN is a missing value (the model routes it), infinity is refused
    np.save(tmp_path / "inf.npy", x)
    status, _, err = run(capsys, "verify", blob, files["wine_extratrees"], tmp_path / "inf.npy")
    assert status == 1 and "infinite" in err
    (tmp_path / "x.txt").write_text("1,2")
    status, _, err = run(capsys, "verify", blob, files["wine_extratrees"], tmp_path / "x.txt")
    assert status == 1 and "use .npy, .npz" in err
    status, _, err = run(capsys, "verify", blob, files["digits_forest"],
                         files["root"] / "wine_extratrees.npz")
    assert status == 1 and "same model" in err


def test_registry_adds_a_command(monkeypatch, capsys) -> None:
    calls = []

    def setup(p: argparse.ArgumentParser) -> None:
        p.add_argument("--times", type=int, default=1)

    def handler(args: argparse.Namespace) -> int:
        calls.append(args.times)
        if args.times > 1:
            raise cli.CommandError("too many; try --times 1")
        return 0

    monkeypatch.setitem(cli._COMMANDS, "hello", cli.Command(handler, setup, "say hello"))
    assert cli.main(["hello"]) == 0
    assert cli.main(["hello", "--times", "2"]) == 1
    assert capsys.readouterr().err == "emlml: too many; try --times 1\n"
    assert calls == [1, 2]
    monkeypatch.setitem(cli._COMMANDS, "lazy",
                        cli.Command("emlml_tools.describe:run",
                                    "emlml_tools.describe:setup", "lazy strings"))
    assert cli.main(["lazy", "/nonexistent.bin"]) == 1


def test_help_and_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and "emlml 0.1.0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in ("convert", "inspect", "verify"))
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
