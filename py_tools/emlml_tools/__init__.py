"""Host-side tools for emlml: scikit-learn models as checked binary blobs for MicroPython.

Modules (import what you need; this package import stays light):

- ``emlml_tools.blob``: the blob format (docs/FORMAT.md): constants, writer, checked reader.
- ``emlml_tools.keys``: threshold and input keys for exact ``x <= threshold`` walks.
- ``emlml_tools.convert_sklearn``: fitted scikit-learn estimators -> blob bytes.
- ``emlml_tools.reference``: a NumPy runtime that executes a blob exactly as FORMAT.md says.
- ``emlml_tools.zoo``: the deterministic models used by the demo and the tests.
- ``emlml_tools.cli``: the ``emlml`` command.
"""

__version__ = "0.1.0"
