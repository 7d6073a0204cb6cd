"""Solve: every strategy, backend and tuning decision in one package.

:func:`~planner.solve.strategy.solve_model` picks the strategy (a direct
solve, the staged solve, the regional decomposition); every stage takes its
seconds from the run's :class:`~planner.solve.clock.Clock` and returns a
:class:`~planner.solve.status.Solution` (values as an array over the model's
columns); :mod:`planner.solve.backend` is the only door to HiGHS and CBC.
"""
