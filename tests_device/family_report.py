# What this emlml build says of every blob in data/, one line per answer, for
# tests_host/test_device_families.py to compare the build of every family with the builds
# of one family alone (not a test_*.py: it asserts nothing, the host compares):
#   <blob path> out <class or -> <output bytes in hex> [<int8 outputs in hex>]
#   <blob path> refused <exception type>: <message>
# Outputs are printed as their float32 bytes, so equal lines are equal bits.
import array
import binascii
import gc

from emlml_testlib import DATA, Stream, models, read
import emlml

CNN = DATA + "/cnn/"
BAD = DATA + "/bad/"


def hexed(buf):
    return binascii.hexlify(buf).decode()


def load(path):
    """The model, or None when this build refuses the blob (the reason printed)."""
    try:
        return emlml.load(path)  # the user's entry: a path
    except Exception as e:  # the host checks the type: ValueError
        print(path, "refused", type(e).__name__ + ":", e)
        return None


def report_model(path, typecode, n_in, n_out, n):
    """predict and predict_proba (a regressor: predict's value) of every sample."""
    m = load(path)
    if m is None:
        return
    x = Stream(path[:-4] + ".x", typecode, n_in)
    out = array.array("f", [0.0] * n_out)
    for _ in range(n):
        xi = x.next()
        if m.task == "classifier":
            m.predict_proba(xi, out)
            print(path, "out", m.predict(xi), hexed(out))
        else:
            print(path, "out -", hexed(array.array("f", [m.predict(xi)])))
    x.close()


def report_cnn(path, typecode, n_in, n_out, n):
    """A CNN's class, float outputs and int8 outputs, from its own input type and from
    float input (.xf)."""
    m = load(path)
    if m is None:
        return
    x = Stream(path[:-4] + ".x", typecode, n_in)
    xf = Stream(path[:-4] + ".xf", "f", n_in)
    outf = array.array("f", [0.0] * n_out)
    outq = array.array("b", [0] * n_out)
    for _ in range(n):
        for xi in (x.next(), xf.next()):
            m.predict_proba(xi, outf)
            m.predict_proba(xi, outq)
            print(path, "out", m.predict(xi), hexed(outf), hexed(outq))
    x.close()
    xf.close()


for name, task, typecode, n_in, n_out, n in models():
    gc.collect()
    report_model(DATA + "/" + name + ".bin", typecode, n_in, n_out, n)
for line in read(CNN + "index.txt").decode().split("\n"):
    p = line.split()
    if p:
        gc.collect()
        report_cnn(CNN + p[0] + ".bin", p[4], int(p[1]), int(p[2]), int(p[3]))
for line in read(BAD + "index.txt").decode().split("\n"):
    if line:
        if load(BAD + line.split("\t")[0] + ".bin") is not None:
            print(BAD + line.split("\t")[0] + ".bin", "out")  # loaded: the host says if it may
for base in ("trees", "forest", "knn", "cnn"):
    if load(BAD + "good_" + base + ".bin") is not None:
        print(BAD + "good_" + base + ".bin", "out")
print("family_report: done")
