"""Configuration: the scenario (YAML in, frozen :class:`Scenario` out), the
national standard's indicators, and the solve's tuning knobs."""

from planner.config.scenario import Scenario
from planner.config.sources import load_scenario, locate_key
from planner.config.tuning import SolveTuning

__all__ = ["Scenario", "SolveTuning", "load_scenario", "locate_key"]
