"""What `pip install` gives a user: the wheel of `make dist` installed into a fresh virtual
environment (the pins of requirements.txt as constraints), used from an empty folder with
no access to the checkout. The wheel and the sdist carry the five board modules, and
`emlml install --list` names them from the installed package (on the emulated ESP32 the
same wheel installs its module and runs a converted model: test_getting_started.py).
It converts, inspects and verifies a scikit-learn forest and the shipped digits_cnn.tflite without a traceback, says which package to install for a missing
optional one, and holds the product alone: no demo, benchmark, training or test-data
code, and no path into the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

ROOT = Path(__file__).resolve().parent.parent
# modules of the checkout's tools (py_tools/emlml_dev), none of which may be installed
DEV_MODULES = sorted(p.stem for p in (ROOT / "py_tools" / "emlml_dev").glob("*.py")
                     if p.stem != "__init__")


ARCHS = ("armv6m", "armv7emsp", "armv7m", "x64", "xtensawin")


def release(pattern: str) -> Path:
    found = sorted((ROOT / "dist").glob(pattern))
    if not found:
        pytest.fail(f"no dist/{pattern}: run make dist (make test does)", pytrace=False)
    return found[-1]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return release("emlml-*.whl")


def test_release_carries_every_board_module(wheel: Path) -> None:
    """Wheel and sdist hold each arch's module, byte for byte the one that was built, with
    its emlml_util.py and mip package.json; the sdist builds the wheel (make dist)."""
    import tarfile

    in_wheel = {n: zipfile.ZipFile(wheel).read(n) for n in zipfile.ZipFile(wheel).namelist()
                if n.startswith("emlml_tools/mpy/")}
    sdist = tarfile.open(release("emlml-*.tar.gz"))
    in_sdist = {n.split("/py_tools/", 1)[1]: sdist.extractfile(n).read()
                for n in sdist.getnames() if "/emlml_tools/mpy/" in n and sdist.getmember(n).isfile()}
    assert in_wheel == in_sdist
    for arch in ARCHS:
        for build in (arch, f"{arch}/trees", f"{arch}/knn", f"{arch}/cnn"):
            built = (ROOT / "build" / "natmod" / build / "emlml.mpy").read_bytes()
            assert in_wheel[f"emlml_tools/mpy/{build}/emlml.mpy"] == built, build
            assert f"emlml_tools/mpy/{build}/emlml_util.py" in in_wheel
            assert f"emlml_tools/mpy/{build}/package.json" in in_wheel
    assert {n.split("/")[2] for n in in_wheel} == set(ARCHS)
    assert len([n for n in in_wheel if n.endswith(".mpy")]) == 4 * len(ARCHS)


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its declared dependencies, pinned as in the tests."""
    env_dir = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    result = subprocess.run(pip + ["-c", str(ROOT / "requirements.txt"), str(wheel)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return env_dir


def emlml(venv: Path, cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    return subprocess.run([str(venv / "bin" / "emlml"), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_wheel_holds_the_product_alone(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.split("/")[0] for n in names if not n.startswith("emlml-")}
    assert packages == {"emlml_tools"}
    stems = {Path(n).stem for n in names if n.endswith(".py")}
    assert not stems & set(DEV_MODULES), stems & set(DEV_MODULES)
    assert "emlml_tools/models/digits_cnn.tflite" in names
    for name in names:
        if name.endswith(".py"):
            text = zipfile.ZipFile(wheel).read(name).decode()
            # the product never imports the checkout's tools (a comment may name them)
            assert not re.search(r"^\s*(from|import) emlml_dev", text, re.M), name
            assert "__file__" not in text, name  # nothing installed looks for the checkout


def test_installed_list_names_the_modules(venv: Path, tmp_path: Path) -> None:
    result = emlml(venv, tmp_path, "install", "--list")
    assert result.returncode == 0, result.stderr
    assert str(venv) in result.stdout and "emlml_tools/mpy" in result.stdout
    for arch in ARCHS:
        assert re.search(rf"^{arch} .* {arch}/emlml\.mpy$", result.stdout, flags=re.M), result.stdout


def test_installed_commands_from_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    X, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    joblib.dump(forest, work / "forest.joblib")
    np.savez(work / "test.npz", X=X, y=y)
    steps = [("convert", "forest.joblib", "-o", "forest.bin", "--labels", "a,b,c"),
             ("inspect", "forest.bin"),
             ("verify", "forest.bin", "forest.joblib", "test.npz")]
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import emlml_tools, os; print(os.path.dirname(emlml_tools.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    cnn = Path(site) / "models" / "digits_cnn.tflite"
    rng = np.random.default_rng(0)
    np.save(work / "cnn_inputs.npy", rng.integers(-128, 128, size=(8, 64)).astype(np.int8))
    steps += [("convert", cnn, "-o", "cnn.bin"), ("inspect", "cnn.bin"),
              ("verify", "cnn.bin", cnn, "cnn_inputs.npy")]
    for step in steps:
        result = emlml(venv, work, *step)
        assert result.returncode == 0, (step, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
    assert str(ROOT) not in site  # the installed copy, not the checkout


def test_missing_optional_package_says_what_to_install(venv: Path, tmp_path: Path) -> None:
    """esptool is the esp32 extra: `emlml flash` of an ESP32 image without it names it."""
    image = tmp_path / "firmware.bin"
    image.write_bytes(b"\xe9" + bytes(64))
    result = emlml(venv, tmp_path, "flash", image, "--port", "/dev/null")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "pip install esptool" in result.stderr
