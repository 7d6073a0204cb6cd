"""School layout and capacity planning optimiser (学校布局与学位规划).

The package is a one-way pipeline, one module per stage:

    scenario -> load -> travel -> model -> solve -> decode -> assess -> write

Each stage is a small set of pure functions over frozen dataclasses or data
frames; the CLI (:mod:`planner.cli`) only wires the stages together.
"""

__version__ = "0.1.0"

BANDS: tuple[str, ...] = ("g1_3", "g4_6", "g7_9")
LEVELS: tuple[str, ...] = ("primary", "junior")
TYPES: tuple[str, ...] = ("teaching_point", "primary", "junior", "nine_year")
LEVEL_OF_BAND: dict[str, str] = {"g1_3": "primary", "g4_6": "primary", "g7_9": "junior"}
AREA_KINDS: tuple[str, ...] = ("teaching", "living", "sports")
