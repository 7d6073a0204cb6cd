"""Data: the scenario's files read, validated and projected into a frozen
:class:`Problem`, the pruned travel pairs, and the checks before solving."""
