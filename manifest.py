# MicroPython manifest for the Python side of emlml: freeze it into a firmware
# (FROZEN_MANIFEST or include() from a board's manifest), or copy the file next to
# the native .mpy. The C module itself comes from micropython_module/.
module("emlml_util.py", base_path="micropython_module/python")
