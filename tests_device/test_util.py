# emlml_util.load_first: the first loadable model wins; missing or corrupted files
# are skipped, so an interrupted update falls back to the previous model.
import sys

from emlml_testlib import DATA, check, finish
import emlml

sys.path.append("../micropython_module/python")  # on a board the file sits beside the test
import emlml_util

good = DATA + "/bad/good_trees.bin"
path, m = emlml_util.load_first(DATA + "/bad/truncated.bin", DATA + "/no-such.bin", good)
check(path == good and m.n_inputs == 13, "falls back to the valid model")
path, m = emlml_util.load_first(good, DATA + "/bad/crc.bin")
check(path == good, "takes the first valid model")
try:
    emlml_util.load_first(DATA + "/bad/crc.bin", DATA + "/bad/magic.bin")
    check(False, "no valid model: OSError expected")
except OSError:
    pass
finish("test_util")
