# Heap pressure: a load that cannot get its arena raises MemoryError and leaves
# nothing behind; once memory is back, the same blob loads and predicts.
import gc

from emlml_testlib import DATA, check, finish, read
import emlml

wide = read(DATA + "/wide.bin")  # a valid model with 65534 inputs: a 256 KB arena

# Fill the heap, then free a little: far less than the arena needs.
hog = []
try:
    while True:
        hog.append(bytearray(4096))
except MemoryError:
    pass
for _ in range(2):
    hog.pop()
gc.collect()
failed = False
try:
    emlml.load(wide)
except MemoryError:
    failed = True
check(failed, "load without memory for the arena raises MemoryError")
hog = None
gc.collect()

if gc.mem_free() > 3 * 262144:  # a heap that can hold the arena (the unix runtime)
    m = emlml.load(wide)
    check(m.n_inputs == 65534, "loads once memory is back")
    x = [0.0] * 65534
    check(m.predict(x) == 0, "predicts class 0")
    x[65533] = 1.0
    check(m.predict(x) == 1, "predicts class 1")
    m = x = None
    gc.collect()
else:
    print("heap too small for the 256 KB arena: the load-after-recovery part is skipped")
small = emlml.load(read(DATA + "/bad/good_trees.bin"))
check(small.n_inputs == 13, "small model after the big one")
finish("test_memory")
