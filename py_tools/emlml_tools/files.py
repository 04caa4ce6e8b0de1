"""Reading the user's files for the commands: blobs, models and data, with errors that say
what to do next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emlml_tools.errors import CommandError


def read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file (check the {what} path)") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def load_blob(path: str) -> Any:
    from emlml_tools.format import read_blob

    data = read_bytes(path, "blob")
    try:
        return read_blob(data)
    except ValueError as exc:
        raise CommandError(f"{path}: {exc}") from None


# Optional packages whose pickled estimators convert, and the pip package of each.
_MODEL_PACKAGES = {"xgboost": "xgboost-cpu", "lightgbm": "lightgbm"}


def load_model(path: str) -> Any:
    from emlml_tools.convert.sklearn_models import load_estimator

    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file; save your fitted model with "
                           f"joblib.dump(model, {path!r}) first")
    try:
        return load_estimator(path)
    except ModuleNotFoundError as exc:  # a model of an optional package (XGBoost, LightGBM)
        module = (exc.name or "").split(".")[0]
        if module in _MODEL_PACKAGES:
            from emlml_tools.errors import require
            require(module, _MODEL_PACKAGES[module], f"load {path}")
        raise CommandError(f"{path}: cannot load a model from it ({exc}); install the "
                           "package that made it") from None
    except Exception as exc:  # unpickling can fail in many ways
        raise CommandError(f"{path}: cannot load a model from it ({type(exc).__name__}: "
                           f"{exc}); save the fitted estimator with joblib.dump or pickle"
                           ) from None


def int_list(text: str, what: str) -> list[int]:
    try:
        return [int(part) for part in text.replace("x", ",").split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"{what} {text!r} is not a list of integers such as 8,8") from None


def is_tflite(path: str) -> bool:
    """A .tflite by suffix, or by the flatbuffer identifier TFL3 at offset 4."""
    if Path(path).suffix.lower() == ".tflite":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"TFL3"
    except OSError:
        return False



def load_data(path: str) -> tuple[Any, Any]:
    """(X, y or None) from .npy, .npz or .csv."""
    import numpy as np

    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file (DATA is a .npy, .npz or .csv of inputs)")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False), None
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "X" in z.files:
                    return z["X"], (z["y"] if "y" in z.files else None)
                if len(z.files) == 1:
                    return z[z.files[0]], None
                raise CommandError(f"{path}: no array named 'X' (found {', '.join(z.files)}); "
                                   "save it with np.savez(path, X=X, y=y)")
        if suffix == ".csv":
            try:
                return np.loadtxt(path, delimiter=",", ndmin=2), None
            except ValueError:  # a header line
                return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1), None
    except CommandError:
        raise
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path}: cannot read numbers from it ({exc}); DATA must be "
                           "numeric") from None
    raise CommandError(f"{path}: unknown data format {suffix or '(no suffix)'}: use .npy, "
                       ".npz (X, optional y) or .csv")
