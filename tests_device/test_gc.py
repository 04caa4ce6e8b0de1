# Models stay valid after the caller drops the blob and the GC runs: the model keeps
# its blob alive. Loops of loads, predictions and collections give the same answers.
import gc

from emlml_testlib import DATA, check, finish, models, read, read_array
import emlml

# The first six models whose blobs fit this heap four at a time, with room to spare:
# on the unix runtime the first six; on an ESP32 (150 KB of heap) not the 52 KB kNN.


def file_size(path):  # without os, which minimal ports (the host firmware) leave out
    with open(path, "rb") as f:
        return f.seek(0, 2)


gc.collect()
budget = gc.mem_free() // 5  # a fifth: five blobs and their copies stay live at once
specs = [s for s in models() if file_size(DATA + "/" + s[0] + ".bin") <= budget][:6]
check(len(specs) == 6, "six models fit a fifth of the heap (%d bytes)" % budget)
expected = {}
inputs = {}
for name, task, typecode, n_in, n_out, n in specs:
    inputs[name] = read_array(DATA + "/" + name + ".x", typecode, n_in)
    expected[name] = emlml.load(DATA + "/" + name + ".bin").predict(inputs[name])

kept = []
for round_ in range(30):
    for name, task, typecode, n_in, n_out, n in specs:
        m = emlml.load(bytes(read(DATA + "/" + name + ".bin")))  # the only reference to the blob
        kept.append((name, m))
        if len(kept) > 4:
            kept.pop(0)
    gc.collect()
    junk = [bytearray(200) for _ in range(50)]  # reuse the freed memory
    del junk
    for name, m in kept:
        check(m.predict(inputs[name]) == expected[name], "%s after gc, round %d" % (name, round_))
    gc.collect()
print("loads and predictions through 30 gc rounds:", 30 * len(specs))
finish("test_gc")
