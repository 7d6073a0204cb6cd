"""The model: the mixed-integer programme of DESIGN.md §4, built with PuLP's
algebra into a frozen :class:`Model` whose :class:`Form` (arrays) every solve
reads. One ``add_<family>`` per constraint family."""

from planner.model.build import build_model
from planner.model.core import Model
from planner.model.form import Form

__all__ = ["Form", "Model", "build_model"]
