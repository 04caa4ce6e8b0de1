"""emlml on the computer: trained models (scikit-learn, TensorFlow Lite int8) as checked
binary blobs for the ``emlml`` MicroPython module, and the board tools.

Sub-packages mirror the C core (docs/ARCHITECTURE.md); this import stays light:

- ``emlml_tools.format``: the blob (docs/FORMAT.md): one module per family, writer and
  checked reader side by side.
- ``emlml_tools.convert``: scikit-learn estimators and .tflite files -> blobs.
- ``emlml_tools.runtime``: the NumPy reference that computes what the board computes.
- ``emlml_tools.verify`` / ``oracle``: a blob against its source model.
- ``emlml_tools.board``: install, deploy, firmware, flash, romfs, mip.
- ``emlml_tools.cli``: the ``emlml`` command.
"""

# The release: the C core's EMLML_VERSION (core/emlml_config.h), through the generated tables.
from emlml_tools.format.c_tables import VERSION as __version__  # noqa: E402,F401
