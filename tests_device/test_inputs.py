# Inputs: wrong type -> TypeError, wrong length -> ValueError naming the length, wrong
# typecode -> TypeError naming the accepted ones, out of the wrong size or type,
# NaN routed by trees (refused by kNN), infinity refused, lists accepted, attributes
# read-only.
import array

from emlml_testlib import DATA, check, expect_error, finish, read_array
import emlml

# A float32 forest classifier (the demo's digits forest).
m = emlml.load(DATA + "/digits_forest.bin")
x = read_array(DATA + "/digits_forest.x", "f", 64)
want = m.predict(x)
check(m.predict(list(x)) == want, "list input")
check(m.predict(tuple(x)) == want, "tuple input")
check(m.kind == "trees" and m.task == "classifier", "kind and task")
check(len(m.labels) == 10 and m.labels[3] == "3", "labels")
check(m.input_shape == (8, 8), "input_shape")
check(m.ram <= 1024, "RAM %d bytes" % m.ram)
expect_error(TypeError, "input must be", m.predict, 3)
expect_error(TypeError, "input must be", m.predict, None)
expect_error(TypeError, "array('f')", m.predict, array.array("h", [0] * 64))
expect_error(TypeError, "array('f')", m.predict, bytearray(256))
expect_error(ValueError, "expected 64 inputs, got 63", m.predict, x[:63])
expect_error(ValueError, "expected 64 inputs, got 65", m.predict, array.array("f", list(x) + [0.0]))
expect_error(ValueError, "expected 64 inputs, got 2", m.predict, [1.0, 2.0])
expect_error(TypeError, "", m.predict, ["a"] * 64)
# The forest routes NaN (a missing value) as scikit-learn does (test_parity checks where
# to); infinity is refused.
y = array.array("f", x)
y[5] = float("nan")
check(0 <= m.predict(y) < 10, "NaN input accepted")
check(len(m.predict_proba(y)) == 10, "NaN input accepted by predict_proba")
for bad in (float("inf"), -float("inf")):
    y[5] = bad
    expect_error(ValueError, "input 5 is infinite", m.predict, y)
    expect_error(ValueError, "input 5 is infinite", m.predict_proba, y)
check(m.predict(x) == want, "usable after refused inputs")
out = array.array("f", [0.0] * 10)
check(m.predict_proba(x, out) is out, "predict_proba returns out")
check(m.predict_proba(x, out=out) is out, "predict_proba out= keyword")
p = m.predict_proba(x)
check(len(p) == 10 and list(p) == list(out), "predict_proba without out")
# With an out buffer, predict_proba allocates nothing (nor does a classifier's predict).
import gc


def allocation_of_predictions(model, x, out, n):
    gc.collect()
    before = gc.mem_alloc()
    for i in range(n):
        model.predict_proba(x, out)
        model.predict(x)
    return gc.mem_alloc() - before


allocation_of_predictions(m, x, out, 1)  # warm up
check(allocation_of_predictions(m, x, out, 200) == 0, "predict allocated memory")

expect_error(ValueError, "out must hold 10 floats, it holds 9", m.predict_proba, x, array.array("f", [0.0] * 9))
expect_error(TypeError, "array('f')", m.predict_proba, x, array.array("d", [0.0] * 10))
expect_error(TypeError, "array('f')", m.predict_proba, x, bytes(40))
expect_error(TypeError, "optional out", m.predict_proba, x, output=out)  # another keyword
expect_error(TypeError, "optional out", m.predict_proba, x, out, out)  # too many
expect_error(TypeError, "optional out", m.predict_proba, x, out, out=out)  # out twice
m.predict_proba(x, out=out)  # out by keyword
for attr in ("kind", "n_inputs", "labels", "ram"):
    try:
        setattr(m, attr, 1)
        check(False, attr + " is writable")
    except AttributeError:
        pass

# A regressor returns a float and has no predict_proba.
r = emlml.load(DATA + "/diabetes_tree.bin")
xr = read_array(DATA + "/diabetes_tree.x", "f", 10)
check(type(r.predict(xr)) is float, "regressor predict is a float")
check(r.labels == (), "regressor has no labels")
expect_error(TypeError, "regressor", r.predict_proba, xr)

# Integer models take their own typecode (and lists), nothing else.
u = emlml.load(DATA + "/digits_tree_uint8.bin")
xu = read_array(DATA + "/digits_tree_uint8.x", "B", 64)
want_u = u.predict(xu)
check(u.predict(bytearray(xu)) == want_u, "bytearray for a uint8 model")
check(u.predict(bytes(xu)) == want_u, "bytes for a uint8 model")
check(u.predict(memoryview(bytearray(xu))) == want_u, "memoryview for a uint8 model")
check(u.predict(list(xu)) == want_u, "list for a uint8 model")
expect_error(TypeError, "array('B')", u.predict, array.array("f", list(xu)))
expect_error(ValueError, "out of range", u.predict, [300] + list(xu)[1:])
i8 = emlml.load(DATA + "/digits_forest_int8.bin")
check(i8.input_type == "b", "int8 model typecode")
expect_error(TypeError, "array('b')", i8.predict, bytearray(64))
expect_error(ValueError, "out of range", i8.predict, [-129] + [0] * 63)
i16 = emlml.load(DATA + "/diabetes_extratrees_int16.bin")
check(i16.input_type == "h", "int16 model typecode")
expect_error(TypeError, "array('h')", i16.predict, array.array("f", [0.0] * 10))

# kNN refuses NaN (trees take it as a missing value). The models above and their blobs
# are let go first; a 7 KB kNN blob: the 52 KB breast_cancer one no longer finds a free
# block on the ESP32's heap, fragmented by the models above, beside the module of every
# family (over 30 KB).
m = r = u = i8 = i16 = y = None
gc.collect()
k = emlml.load(DATA + "/wine_knn_manhattan_distance.bin")
check(k.kind == "knn", "knn kind")
xk = read_array(DATA + "/wine_knn_manhattan_distance.x", "f", 13)
xk[0] = float("nan")
expect_error(ValueError, "input 0 is NaN", k.predict, xk)
finish("test_inputs")
