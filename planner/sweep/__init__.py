"""Sweeps: many runs of variants of a scenario (or of many counties) on Dask distributed."""
