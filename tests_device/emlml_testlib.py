# Shared helpers of the device tests. Plain MicroPython (also runs on CPython-free
# boards): no NumPy, no f-strings beyond what MicroPython has, no CPython-only modules.
import array
import sys

try:
    import emlml
except ImportError:
    print("SKIP: no emlml module on this MicroPython")
    sys.exit(0)

DATA = "data"
failures = []


def read(path):
    """The whole file, with one read of its size: read() with no size grows its buffer
    in small steps, and on a small heap (an ESP32's) the last step may find no room."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        return f.read(size)


ITEM_SIZE = {"f": 4, "i": 4, "b": 1, "B": 1, "h": 2}


def read_array(path, typecode, count, start=0):
    """count items of typecode from a raw file, from item `start` on, without reading
    the whole file (boards have little RAM)."""
    out = array.array(typecode, [0] * count)
    with open(path, "rb") as f:
        f.seek(start * ITEM_SIZE[typecode])
        f.readinto(out)
    return out


class Stream:
    """Reads a raw file of typecode items `count` at a time into one reused array."""

    def __init__(self, path, typecode, count):
        self.f = open(path, "rb")
        self.buf = array.array(typecode, [0] * count)

    def next(self):
        self.f.readinto(self.buf)
        return self.buf

    def close(self):
        self.f.close()


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def expect_error(exc_type, words, fn, *args, **kwargs):
    """fn(*args) must raise exc_type with `words` in its message."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        msg = str(e)
        check(words in msg, "%s message %r lacks %r" % (exc_type.__name__, msg, words))
        return msg
    except Exception as e:
        check(False, "expected %s(%r), got %s(%r)" % (exc_type.__name__, words, type(e).__name__, str(e)))
        return None
    check(False, "expected %s(%r), nothing raised" % (exc_type.__name__, words))
    return None


def models():
    """(name, task, typecode, n_inputs, n_outputs, n_samples) from data/index.txt."""
    out = []
    for line in read(DATA + "/index.txt").decode().split("\n"):
        parts = line.split()
        if parts:
            out.append((parts[0], parts[1], parts[2], int(parts[3]), int(parts[4]), int(parts[5])))
    return out


def finish(name):
    if failures:
        print("%s: %d FAILED" % (name, len(failures)))
        sys.exit(1)
    print("%s: OK" % name)
