"""Old import paths of names that moved, kept working with a ``DeprecationWarning``."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping

__all__ = ["moved_attribute"]


def moved_attribute(module: str, moved: Mapping[str, str], name: str) -> object:
    """For a module's ``__getattr__`` (PEP 562): ``name`` from its new home, with a warning.

    ``moved`` maps each moved name to the module that has it now; the import is lazy, so an
    old path costs nothing until it is used.

    Raises:
        AttributeError: ``name`` did not move here from anywhere.
    """
    if name not in moved:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} moved to {moved[name]}.{name}; import it from there",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(moved[name]), name)
