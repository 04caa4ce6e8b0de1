# The rp2 port's default frozen modules, plus emlml's Python side (emlml_util.py).
include("$(PORT_DIR)/boards/manifest.py")
include("../../manifest.py")
