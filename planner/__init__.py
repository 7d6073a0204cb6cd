"""School layout and capacity planning optimiser (学校布局与学位规划).

One subpackage per stage, imports pointing one way:

    config -> data -> model -> solve -> assess -> outputs

:mod:`planner.pipeline` wires them; :mod:`planner.cli` is the command line;
:mod:`planner.domain` and :mod:`planner.errors` are shared by all.
"""

__version__ = "0.1.0"
