"""The errors a command reports to its user, and the check for an optional package."""

from __future__ import annotations

import importlib
from types import ModuleType


class CommandError(Exception):
    """A user-facing failure of a command: printed as ``emlml: <message>``, exit status 1."""


def require(module: str, package: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise a ``CommandError`` that names the pip package to install.

    ``purpose`` completes "... is needed to ...", e.g. "verify a .tflite model".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CommandError(f"the Python package {package!r} is needed to {purpose} "
                           f"({exc}); install it with: pip install {package}") from None
