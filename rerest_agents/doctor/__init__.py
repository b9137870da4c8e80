"""`rerest doctor`: one screen that says what this machine has and lacks for rerest.

In the manner of `vllm collect-env`, `huggingface-cli env` and `ray status`: the Python stack, the
embedded model, the sandboxes and services, and each task's data, every line with where it was found
or the one command that gets it. It loads no model and starts nothing (the slowest part is importing
torch), so it answers in seconds.

    rerest doctor        # exit 0: the main job (`rerest run` defaults) can run here; 1: it cannot, and why

Every check runs under a guard: a check that breaks becomes a line saying so, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

#: What `rerest run` runs with no arguments; the exit code says whether this can run.
MAIN_JOB = "rerest run: hf backend, embedded gemma-3-270m, rerest/Layout-v0"

Status = Literal["ok", "first-use", "missing"]
#: How each status is marked at the start of its line ("!!" marks a missing part the main job needs).
MARKS = {"ok": "ok", "first-use": "..", "missing": "--"}


@dataclass(frozen=True)
class Check:
    """One line of the report.

    Attributes:
        section: The heading it is listed under (`System`, `Embedded model`, ...).
        name: What was checked (`torch`, `bubblewrap`, `MBPP`).
        status: `ok`; `first-use` (absent, but made on first use without any action, e.g. the model
            conversion); `missing`.
        detail: What was found (versions, paths, counts), or what is missing.
        fix: The one command or step that gets a missing part.
        required: The main job cannot run without it.
    """

    section: str
    name: str
    status: Status
    detail: str
    fix: str = ""
    required: bool = False

    @property
    def blocks_main_job(self) -> bool:
        """Whether this line alone stops the main job."""
        return self.required and self.status == "missing"


def guarded(section: str, name: str, check: Callable[[], Iterable[Check]], *, required: bool = False) -> list[Check]:
    """The lines of `check()`, or one line saying how it broke (never an exception)."""
    try:
        return list(check())
    except Exception as exc:  # noqa: BLE001 - a diagnostic must report, not crash
        text = " ".join(str(exc).split())[:200] or "no message"
        return [Check(section, name, "missing", f"the check itself failed: {type(exc).__name__}: {text}", required=required)]


def diagnose() -> list[Check]:
    """Every check, in report order."""
    from rerest_agents.doctor.data import data_checks
    from rerest_agents.doctor.machine import machine_checks

    return machine_checks() + data_checks()


def can_run(checks: Iterable[Check]) -> bool:
    """Whether the main job can run: no required part is missing."""
    return not any(c.blocks_main_job for c in checks)


def render(checks: list[Check], header: str = "") -> str:
    """The report: a heading per section, a line per check, and the verdict on the main job."""
    width = max((len(c.name) for c in checks), default=0) + 2
    lines = [header] if header else []
    section = None
    for c in checks:
        if c.section != section:
            section = c.section
            lines += ["", section]
        mark = "!!" if c.blocks_main_job else MARKS[c.status]
        fix = f"  -> {c.fix}" if c.fix and c.status != "ok" else ""
        lines.append(f"  {mark} {c.name:<{width}}{c.detail}{fix}")
    blocking = [c for c in checks if c.blocks_main_job]
    lines.append("")
    if blocking:
        lines.append(f"Main job ({MAIN_JOB}) cannot run here; missing:")
        by_fix: dict[str, list[str]] = {}
        for c in blocking:
            by_fix.setdefault(c.fix or c.detail, []).append(c.name)
        lines += [f"  - {', '.join(names)}: {fix}" for fix, names in by_fix.items()]
    else:
        later = [c.name for c in checks if c.required and c.status == "first-use"]
        note = f" ({', '.join(later)}: made on first use)" if later else ""
        lines.append(f"Main job ({MAIN_JOB}) can run here{note}.")
    lines.append("Legend: ok found; .. made on first use; -- missing (optional); !! missing, the main job needs it.")
    return "\n".join(lines)


__all__ = ["MAIN_JOB", "Check", "can_run", "diagnose", "guarded", "render"]
