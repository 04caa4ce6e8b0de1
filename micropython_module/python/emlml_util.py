# Helpers for emlml on the board, plain MicroPython.
import emlml


def load_first(*paths):
    """Load the first of `paths` that holds a valid model and return (path, model).

    Put the newest model first and the previous one after it: a file that is
    missing, cut short or corrupted is skipped (emlml.load refuses it with
    ValueError or OSError), so a failed update never leaves the board without a
    model. Raises OSError(2) when none of them loads."""
    for path in paths:
        try:
            return path, emlml.load(path)
        except (OSError, ValueError):
            pass
    raise OSError(2)
