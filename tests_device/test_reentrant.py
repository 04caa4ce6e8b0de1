# Re-entrant use: Python code that runs inside a predict call (here: __float__ of the
# items of a list input, called while predict converts them) uses the same model. The
# model converts its input before it touches its working memory, so the inner calls
# finish first and the outer result is unchanged. (A hard interrupt that calls predict
# while the C core runs is refused with RuntimeError by the model's busy flag; nothing
# in MicroPython's unix runtime can interrupt C code that way.)
import array

from emlml_testlib import DATA, check, finish, read_array
import emlml

m = emlml.load(DATA + "/digits_forest.bin")
x = read_array(DATA + "/digits_forest.x", "f", 64)
want = m.predict(x)
want_proba = list(m.predict_proba(x))
inner = []


class Feature:
    def __init__(self, value):
        self.value = value

    def __float__(self):
        inner.append(m.predict(x))
        m.predict_proba(x)
        return self.value


features = [Feature(v) for v in x]
check(m.predict(features) == want, "outer predict after inner calls")
check(len(inner) == 64 and inner == [want] * 64, "inner predicts")
out = array.array("f", [0.0] * 10)
m.predict_proba(features, out)
check(list(out) == want_proba, "outer predict_proba after inner calls")
finish("test_reentrant")
