# Every model in data/: emlml's outputs equal the reference runtime's float32 bits,
# and predict() agrees with scikit-learn's predict on every held-out sample.
import array
import gc

from emlml_testlib import DATA, Stream, check, finish, models
import emlml


def f32(value):
    return array.array("f", [value])[0]


def run(name, task, typecode, n_in, n_out, n):
    m = emlml.load(DATA + "/" + name + ".bin")
    check(m.n_inputs == n_in and m.n_outputs == n_out and m.task == task, name + ": attributes")
    check(m.input_type == typecode, name + ": input_type")
    x = Stream(DATA + "/" + name + ".x", typecode, n_in)
    ref = Stream(DATA + "/" + name + ".ref", "f", n_out)
    sk = Stream(DATA + "/" + name + ".sk", "i" if task == "classifier" else "f", 1)
    out = array.array("f", [0.0] * n_out)
    exact = agree = 0
    for i in range(n):
        xi = x.next()
        want = ref.next()
        sk_i = sk.next()[0]
        if task == "classifier":
            m.predict_proba(xi, out)
            same = True
            for o in range(n_out):
                same = same and out[o] == want[o]
            exact += same
            agree += m.predict(xi) == sk_i
        else:
            v = m.predict(xi)
            exact += f32(v) == want[0]
            agree += abs(v - sk_i) <= 1e-5 * max(1.0, abs(sk_i))
    for s in (x, ref, sk):
        s.close()
    print("%-34s %4d samples  reference-exact %4d  scikit-learn agree %4d" % (name, n, exact, agree))
    check(exact == n, name + ": outputs differ from the reference runtime")
    check(agree == n, name + ": predictions differ from scikit-learn")


for spec in models():
    gc.collect()  # the last model and its blob are gone before the next (a 52 KB kNN on an ESP32)
    run(*spec)
finish("test_parity")
