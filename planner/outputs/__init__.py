"""Outputs: the run folder (written atomically), the layout table workbook,
maps, GeoPackage, the report for officials and the comparison of runs, all
with Chinese labels (:mod:`planner.outputs.labels`)."""
