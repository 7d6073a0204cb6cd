"""Assess: a solution decoded into a plan of plain tables, the plan measured
against the national standard (indicators, balance, shortfalls), the summary,
and the diagnosis of a scenario with no plan."""
