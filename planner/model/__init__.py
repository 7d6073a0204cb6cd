"""The model: the mixed-integer programme of DESIGN.md §4, built with PuLP's
algebra and arrays into a frozen :class:`Model` whose :class:`Form` (arrays)
every solve reads. One ``add_<family>`` per constraint family.

The names below are imported when first used, so that a process that only
solves a form (an isolated HiGHS solve's child) does not import the whole
builder and its data stack."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.model.build import build_model
    from planner.model.core import Model
    from planner.model.form import Form

__all__ = ["Form", "Model", "build_model"]
_HOME = {"build_model": "planner.model.build", "Model": "planner.model.core", "Form": "planner.model.form"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'planner.model' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
