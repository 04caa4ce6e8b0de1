"""``emlml demo``: the demo models and their data (``models``, ``cnn``, ``data``), the
command (``command``) and the MicroPython script it runs on the unix runtime or a board
(``mp_demo.py``, package data)."""
