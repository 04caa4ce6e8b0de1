"""Gradient boosting, 100 trees: blob bytes per node, and time per prediction on the unix
MicroPython runtime (x64 emlml.mpy), beside m2cgen 0.10.0's pure-Python export where
m2cgen converts the model (of these four, LightGBM only: it refuses scikit-learn's
GradientBoosting and HistGradientBoosting, and fails on XGBoost 3.2's model).

    PYTHONPATH=py_tools python -m emlml_dev.bench_boost [--qemu]

Prints a markdown table; both columns on the same inputs (breast cancer's 569 rows, 30
features), predictions checked equal to the library's. With --qemu, also instructions per
prediction on the emulated Cortex-M boards (bench_boards.py's harness and mp_boards.py:
the armv6m module on mps2-an385, the armv7emsp one on mps2-an386, QEMU -icount), emlml's
predict and predict_proba beside m2cgen's export where there is one, on the held-out
quarter of breast cancer (its first 30 rows).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import warnings

import numpy as np
from emlml_tools.board.transport import micropython_command
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import read_blob

from emlml_dev.paths import NATMOD_DIR

_EMLML_SCRIPT = """
import emlml, array, time
m = emlml.load('m.bin')
data = open('x.bin', 'rb').read()
n = len(data) // (4 * m.n_inputs)
xs = [array.array('f', data[i * 4 * m.n_inputs:(i + 1) * 4 * m.n_inputs]) for i in range(n)]
out = []
t = time.ticks_us()
for x in xs:
    out.append(m.predict(x))
dt = time.ticks_diff(time.ticks_us(), t)
print(dt / n, ' '.join(str(c) for c in out))
"""

_M2CGEN_SCRIPT = """
import array, time
from m2c_model import score
data = open('x.bin', 'rb').read()
k = {k}
n = len(data) // (4 * k)
xs = [list(array.array('f', data[i * 4 * k:(i + 1) * 4 * k])) for i in range(n)]
out = []
t = time.ticks_us()
for x in xs:
    p = score(x)
    out.append(0 if p[0] >= p[1] else 1)
dt = time.ticks_diff(time.ticks_us(), t)
print(dt / n, ' '.join(str(c) for c in out))
"""


def _run(script: str, folder: str) -> tuple[float, list[int]]:
    path = os.path.join(folder, "bench.py")
    with open(path, "w") as f:
        f.write(script)
    env = dict(os.environ, MICROPYPATH=os.path.join(NATMOD_DIR, "x64", "trees") + ":" + folder)
    result = subprocess.run([micropython_command(), "-X", "heapsize=64m", "bench.py"],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(result.stdout + result.stderr)
    first, *classes = result.stdout.split()
    return float(first), [int(c) for c in classes]


def models() -> list:
    from lightgbm import LGBMClassifier
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from xgboost import XGBClassifier
    return [GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0),
            HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=8, random_state=0,
                                           early_stopping=False),
            XGBClassifier(n_estimators=100, max_depth=3, random_state=0),
            LGBMClassifier(n_estimators=100, num_leaves=8, random_state=0, verbose=-1)]


def qemu_table(n_max: int = 30) -> None:
    """Instructions per prediction of the same four models on the emulated boards."""
    from emlml_dev import bench_boards as bb
    from emlml_dev.zoo import _model

    import m2cgen
    fitted = [_model(f"cancer_{type(e).__name__}", e, "breast_cancer") for e in models()]
    with tempfile.TemporaryDirectory() as folder:
        lines = []
        for model in fitted:
            x = np.ascontiguousarray(model.inputs()[:n_max], dtype=np.float32)
            for ext, data in ((".bin", model.blob()), (".x", x.tobytes())):
                with open(os.path.join(folder, model.name + ext), "wb") as f:
                    f.write(data)
            try:
                code = m2cgen.export_to_python(model.estimator)
            except Exception:  # m2cgen refuses or fails on the model
                code = None
            else:
                with open(os.path.join(folder, model.name + "_m2c.py"), "w") as f:
                    f.write(code)
            lines.append(f"{model.name} f {x.shape[1]} {x.shape[0]} 2 {int(code is not None)}")
        with open(os.path.join(folder, "boards.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n| model (100 trees) | arch | emlml predict instr | emlml predict_proba instr "
              "| m2cgen instr | agree emlml, m2cgen |")
        print("|---|---|---|---|---|---|")
        for arch in ("armv6m", "armv7emsp"):
            raw = bb.run_board(arch, fitted, folder)
            for model in fitted:
                row = bb.summarise_mp(model, raw[model.name])
                agree = f"{row.get('agree_emlml')}/{row['n']}"
                agree += f", {row['agree_m2cgen']}/{row['n']}" if "agree_m2cgen" in row else ", -"
                print(f"| {type(model.estimator).__name__} | {arch} | "
                      f"{row.get('predict_instr_per_pred', '-')} | "
                      f"{row.get('proba_instr_per_pred', '-')} | "
                      f"{row.get('m2cgen_instr_per_pred', '-')} | {agree} |")


def main() -> None:
    import sys

    import m2cgen
    from sklearn.datasets import load_breast_cancer

    warnings.filterwarnings("ignore")
    X, y = load_breast_cancer(return_X_y=True)
    X = X.astype(np.float32)
    print("| model (100 trees) | nodes | blob B | B/node | emlml us/pred | m2cgen source B |"
          " m2cgen us/pred | agree with the library |")
    print("|---|---|---|---|---|---|---|---|")
    for est in models():
        est.fit(X, y)
        blob = convert(est)
        b = read_blob(blob).boost
        want = list(np.searchsorted(est.classes_, est.predict(X)))
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "m.bin"), "wb") as f:
                f.write(blob)
            with open(os.path.join(folder, "x.bin"), "wb") as f:
                f.write(X.tobytes())
            us, got = _run(_EMLML_SCRIPT, folder)
            agree = f"emlml {100.0 * np.mean(np.array(got) == want):.1f} %"
            m2c_size = m2c_us = "-"
            try:
                code = m2cgen.export_to_python(est)
            except Exception as exc:  # m2cgen refuses or fails on the model
                m2c_size = f"fails ({type(exc).__name__})"
            else:
                with open(os.path.join(folder, "m2c_model.py"), "w") as f:
                    f.write(code)
                m2c_us_value, m2c_got = _run(_M2CGEN_SCRIPT.format(k=X.shape[1]), folder)
                m2c_size, m2c_us = str(len(code)), f"{m2c_us_value:.1f}"
                agree += f", m2cgen {100.0 * np.mean(np.array(m2c_got) == want):.1f} %"
        print(f"| {type(est).__name__} | {b.n_nodes} | {len(blob)} | {len(blob) / b.n_nodes:.1f} "
              f"| {us:.1f} | {m2c_size} | {m2c_us} | {agree} |")
    if "--qemu" in sys.argv[1:]:
        qemu_table()


if __name__ == "__main__":
    main()
