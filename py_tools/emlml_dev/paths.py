"""Where things are in the checkout: the development tools (this package) run from it, and
only they may know its layout; the installed product (emlml_tools) never does."""

import os

import emlml_tools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
NATMOD_DIR = os.path.join(BUILD, "natmod")
CORE_DIR = os.path.join(ROOT, "micropython_module")
BOARDS_DIR = os.path.join(ROOT, "boards")
DEVICE_TESTS = os.path.join(ROOT, "tests_device")
UTIL_SOURCE = os.path.join(CORE_DIR, "python", "emlml_util.py")
# MicroPython scripts of the benchmarks and the demo, run on the board or the unix port
ON_DEVICE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "on_device")
# the example .tflite CNNs ship inside the product as package data
MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(emlml_tools.__file__)), "models")
# real Keras exports of the operators of issue 15 (keras_exports.py writes them): test data
KERAS_EXPORTS_DIR = os.path.join(ROOT, "tests_host", "keras_exports")
# TinyMaix's benchmark networks (full-int8 .tflite, its README): $EMLML_TINYMAIX, else
# beside the checkout (../shared/models/tinymaix)
TINYMAIX_DIR = os.environ.get("EMLML_TINYMAIX") or os.path.join(
    os.path.dirname(ROOT), "shared", "models", "tinymaix")


def core_sources() -> list[str]:
    """The C core's sources, relative to micropython_module/: the one list
    (emlml_sources.txt) that the Makefiles and CMake read too."""
    with open(os.path.join(CORE_DIR, "emlml_sources.txt")) as f:
        lines = (line.strip() for line in f)
        return [line for line in lines if line and not line.startswith("#")]
