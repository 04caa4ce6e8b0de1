# Every CNN in data/cnn/: emlml's int8 outputs equal TensorFlow Lite's reference
# interpreter (BUILTIN_REF) on every input, every element; float outputs, the float
# input path and the predicted class too. The expected files were written on the host
# from TFLite's own answers (py_tools/emlml_dev/cnn_devicedata.py).
import array

from emlml_testlib import DATA, Stream, check, expect_error, finish, read
import emlml

CNN = DATA + "/cnn/"


def index():
    out = []
    for line in read(CNN + "index.txt").decode().split("\n"):
        p = line.split()
        if p:
            out.append((p[0], int(p[1]), int(p[2]), int(p[3]), p[4], int(p[5]), int(p[6]), int(p[7])))
    return out


def same(a, b):
    if len(a) != len(b):
        return False
    for i in range(len(a)):
        if a[i] != b[i]:
            return False
    return True


def check_inputs_as_buffers(m, x, want_q, name):
    """An int8 input given as array('b'), bytearray, bytes or a memoryview of them."""
    raw = bytes(x)
    outq = zeros("b", m.n_outputs)
    for form in (bytearray(raw), raw, memoryview(x), memoryview(bytearray(raw))):
        m.predict_proba(form, outq)
        check(same(outq, want_q), "%s: int8 input as %s" % (name, type(form).__name__))


def zeros(typecode, n):
    """array(typecode) of n zeros, made from bytes: no list of n objects (a 128x128x3
    network's input as a list takes 400 KB of heap)."""
    return array.array(typecode, bytes(n * (1 if typecode == "b" else 4)))


def check_refusals(m, name):
    n = m.n_inputs
    expect_error(ValueError, "", m.predict, zeros("b", n + 1))
    expect_error(ValueError, "", m.predict, zeros("f", n - 1))
    expect_error(TypeError, "", m.predict, zeros("i", n))
    expect_error(TypeError, "", m.predict, "a" * n)  # text is not an int8 buffer
    nan = zeros("f", n)
    for i in range(n):
        nan[i] = float("nan")
    expect_error(ValueError, "", m.predict, nan)
    expect_error(ValueError, "", m.predict_proba, zeros("b", n), zeros("b", m.n_outputs + 1))


def run(name, n_in, n_out, n, typecode, h, w, c):
    m = emlml.load(CNN + name + ".bin")
    check(m.kind == "cnn", name + ": kind")
    check(m.n_inputs == n_in and m.n_outputs == n_out, name + ": n_inputs/n_outputs")
    check(tuple(m.input_shape) == (h, w, c), name + ": input_shape %r" % (m.input_shape,))
    x = Stream(CNN + name + ".x", typecode, n_in)
    xf = Stream(CNN + name + ".xf", "f", n_in)
    yq = Stream(CNN + name + ".yq", "b", n_out)
    yf = Stream(CNN + name + ".yf", "f", n_out)
    cls = Stream(CNN + name + ".cls", "i", 1)
    outq = zeros("b", n_out)
    outf = zeros("f", n_out)
    exact = 0
    for i in range(n):
        xi, xfi, want_q, want_f, want_c = x.next(), xf.next(), yq.next(), yf.next(), cls.next()[0]
        m.predict_proba(xi, outq)
        ok = same(outq, want_q)
        m.predict_proba(xi, outf)
        ok = ok and same(outf, want_f)
        ok = ok and same(m.predict_proba(xi), want_f)
        ok = ok and m.predict(xi) == want_c
        m.predict_proba(xfi, outq)
        ok = ok and same(outq, want_q)
        exact += ok
        if i == 0 and typecode == "b":
            check_inputs_as_buffers(m, xi, want_q, name)
    for s in (x, xf, yq, yf, cls):
        s.close()
    check_refusals(m, name)
    print("%-22s %2d inputs  TFLite-exact %2d  (%dx%dx%d -> %d)" % (name, n, exact, h, w, c, n_out))
    check(exact == n, name + ": outputs differ from TFLite")


for spec in index():
    run(*spec)
finish("test_cnn")
