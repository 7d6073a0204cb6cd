"""The plan appendix: the writers that turn a solved plan into what officials read.

:data:`APPENDIX_WRITERS` lists them in the order they must run (the report
embeds the maps' PNGs); :mod:`planner.cli` passes them, after the core
writer, to :func:`planner.write.write_run_folder`, which calls each inside the
temporary run folder, so a failure leaves nothing half-written.
"""

from __future__ import annotations

from planner.outputs.gpkg import write_gpkg
from planner.outputs.maps import write_maps
from planner.outputs.projection import write_projected
from planner.outputs.report import write_report
from planner.outputs.workbook import write_workbook

APPENDIX_WRITERS = (write_projected, write_maps, write_workbook, write_gpkg, write_report)
"""Writers ``(problem, plan, summary, folder) -> None`` of projection/ (when the
pupils were projected), maps/, plan.xlsx, plan.gpkg and report.html."""
