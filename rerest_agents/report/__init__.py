"""The run report: one self-contained HTML page per run directory (`rerest report RUN_DIR`).

    from rerest_agents.report import write_report
    path = write_report("runs/layout-cpu-seed0-2026...")   # -> runs/.../report.html
"""

from rerest_agents.report.html import render_report, write_report
from rerest_agents.report.load import METRIC_DEFINITIONS, STAGES, VARIANTS, RunData, load_run

__all__ = ["METRIC_DEFINITIONS", "STAGES", "VARIANTS", "RunData", "load_run", "render_report", "write_report"]
