"""Projection: cohorts -> pupils by village, grade and year -> the pupils a plan is made for."""
