# Runs on MicroPython (not CPython): the on-device half of `emlml demo`.
# Reads bench.txt in the current folder (on the unix runtime), or takes its lines one
# by one with the files sent into RAM (FILES, on a board: nothing is written to its
# flash); for each model loads its blob with
# emlml, checks every held-out sample against scikit-learn's predictions, measures
# the heap the model takes and the time per prediction, and the same for the
# m2cgen pure-Python export when there is one. Prints one result line per model:
#   RESULT name agree correct n heap ram us_emlml us_python
import array
import gc
import time

import emlml

BATCH = 50


FILES = {}  # name -> bytes sent by `emlml demo --port` (else the files are read)


def read(path):
    if path in FILES:
        return FILES[path]
    with open(path, "rb") as f:
        return f.read()


def typed(typecode, path):
    """The file as an array, copied once (a board's RAM holds few copies of 30 KB); a file
    sent into FILES is dropped once copied."""
    data = read(path)
    values = array.array(typecode, data if isinstance(data, bytearray) else bytearray(data))
    FILES.pop(path, None)
    data = None
    gc.collect()
    return values


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def time_calls(fn, args, rounds, out=None):
    """Median over batches of the mean microseconds per call of fn(a) or fn(a, out).
    The loop calls fn directly, as a program would, with no wrapper in between."""
    per_call = []
    for r in range(rounds):
        for start in range(0, len(args), BATCH):
            batch = args[start:start + BATCH]
            if out is None:
                t0 = time.ticks_us()
                for a in batch:
                    fn(a)
                dt = time.ticks_diff(time.ticks_us(), t0)
            else:
                t0 = time.ticks_us()
                for a in batch:
                    fn(a, out)
                dt = time.ticks_diff(time.ticks_us(), t0)
            per_call.append(dt / len(batch))
    return median(per_call)


def exact_outputs(name, m, views, n_out):
    """A CNN ships TFLite's int8 outputs (name.yq): per input, whether every int8
    output of emlml equals TFLite's. None for the other models."""
    try:
        want = memoryview(typed("b", name + ".yq"))
    except OSError:
        return None
    got = array.array("b", [0] * n_out)
    out = []
    for i, v in enumerate(views):
        m.predict_proba(v, got)
        out.append(bytes(got) == bytes(want[i * n_out:(i + 1) * n_out]))
    return out


def bench(name, task, typecode, n_in, n_out, n, has_python, rounds):
    blob = read(name + ".bin")
    gc.collect()
    before = gc.mem_alloc()
    m = emlml.load(blob)
    gc.collect()
    heap = gc.mem_alloc() - before
    x = memoryview(typed(typecode, name + ".x"))
    sk = typed("i" if task == "classifier" else "f", name + ".sk")
    y = typed("i" if task == "classifier" else "f", name + ".y")
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    exact = exact_outputs(name, m, views, n_out)
    agree = correct = 0
    for i in range(n):
        p = m.predict(views[i])
        if task == "classifier":
            agree += p == sk[i] if exact is None else exact[i]
            correct += p == y[i]
        else:
            agree += abs(p - sk[i]) <= 1e-5 * max(1.0, abs(sk[i]))
    if task == "classifier":
        out = array.array("f", [0.0] * n_out)
        us_emlml = time_calls(m.predict_proba, views, rounds, out)
    else:
        us_emlml = time_calls(m.predict, views, rounds)
    us_python = -1
    if has_python:
        score = __import__(name + "_m2c").score
        lists = [list(v) for v in views[:200]]
        us_python = time_calls(score, lists, 1)
    print("RESULT %s %d %d %d %d %d %.3f %.3f" % (name, agree, correct, n, heap, m.ram, us_emlml, us_python))


def bench_line(line):
    parts = line.split()
    if parts:
        bench(parts[0], parts[1], parts[2], int(parts[3]), int(parts[4]), int(parts[5]),
              parts[6] == "1", int(parts[7]))


def main():
    for line in read("bench.txt").decode().split("\n"):
        bench_line(line)


main()
