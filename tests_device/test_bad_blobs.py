# Every corrupted blob is refused with a ValueError that says what is wrong; nothing
# a blob holds crashes the runtime. Plus: every truncation and every single-byte
# change of a valid blob is refused.
from emlml_testlib import DATA, check, expect_error, finish, read
import emlml

BAD = DATA + "/bad/"

count = 0
for line in read(BAD + "index.txt").decode().split("\n"):
    if not line:
        continue
    name, words = line.split("\t")
    expect_error(ValueError, words, emlml.load, read(BAD + name + ".bin"))
    count += 1
print("bad blobs refused:", count)

# (valid blob, its n_inputs): three wine models and the digits CNN
for base, n_inputs in (("trees", 13), ("forest", 13), ("knn", 13), ("cnn", 64)):
    good = read(BAD + "good_" + base + ".bin")
    m = emlml.load(good)
    check(m.n_inputs == n_inputs, base + ": good blob loads")
    buf = bytearray(good)
    for n in range(len(good)):
        expect_error(ValueError, "", emlml.load, memoryview(buf)[:n])
    for i in range(len(good)):
        saved = buf[i]
        buf[i] = saved ^ 0x01
        expect_error(ValueError, "", emlml.load, buf)
        buf[i] = saved
    emlml.load(buf)  # restored: loads again
    print("%s: %d truncations and %d byte flips refused" % (base, len(good), len(good)))

# An unaligned view of a valid blob is refused, not read misaligned.
padded = bytearray(1) + bytearray(read(BAD + "good_trees.bin"))
expect_error(ValueError, "aligned", emlml.load, memoryview(padded)[1:])
expect_error(TypeError, "path", emlml.load, 42)
expect_error(OSError, "", emlml.load, DATA + "/no-such-model.bin")
finish("test_bad_blobs")
