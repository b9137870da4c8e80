"""Judge a code answer: extract the program, check it statically, run the tests, explain.

Checks, named as in `Feedback.details`:
  * `extracted`: the answer contains code at all.
  * `parses`: the program is valid Python (checked here, before any sandbox is used).
  * `defines_entry_point`: the program defines the function the tests call (a hint only).
  * `tests`: one verdict per test; `Feedback.score` is the fraction of all tests passed
    (visible and hidden), and success means every test passed.
The message talks about visible tests only, in Reflexion's executor style; hidden tests and the
reference solution go to `privileged`.
"""

from __future__ import annotations

import ast
import warnings
import re
from typing import Any

from rerest_envs.code.extract import extract_program
from rerest_envs.code.task import CodeTask
from rerest_envs.core import Feedback


def _defines(program: str, name: str) -> bool:
    """Whether `program` binds `name` at module level (def, class, assignment or import)."""
    return re.search(rf"(^|\n)\s*(?:async\s+def|def|class)\s+{re.escape(name)}\b|(^|\n){re.escape(name)}\s*=|import .*\b{re.escape(name)}\b",
                     program) is not None


def _parse_error(program: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc. are the program's business
            ast.parse(program)
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        return f"SyntaxError: {exc}"
    return None


def _privileged(task: CodeTask) -> str:
    parts = []
    if task.hidden_tests:
        parts.append("Hidden tests:\n" + "\n".join(task.hidden_tests))
    if task.reference:
        parts.append(f"Reference solution:\n```python\n{task.reference.strip()}\n```")
    return "\n\n".join(parts)


def _fail(task: CodeTask, message: str, details: dict[str, Any]) -> Feedback:
    tests = [{"test": t, "visible": i < len(task.visible_tests), "passed": False, "output": None,
              "error": message, "timed_out": False} for i, t in enumerate(task.all_tests)]
    return Feedback(success=False, score=0.0, message=message, privileged=_privileged(task), details={**details, "tests": tests})


def score_answer(task: CodeTask, answer: str, sandbox: Any, *, timeout_per_test: float = 3.0) -> Feedback:
    """Score `answer` (the model's full text) on `task`, running tests in `sandbox`."""
    from sandboxes import run_tests  # imported here: `import rerest_envs` stays light

    program, how = extract_program(answer, task.entry_point)
    details: dict[str, Any] = {"extraction": how, "program": program}
    if not program.strip():
        return _fail(task, "Your answer contains no code. Write the function in a ```python code block.", details)
    if task.completion_prefix and not _defines(program, task.entry_point):
        program = task.completion_prefix + program  # a body-only completion, as in HumanEval
        details["program"], details["extraction"] = program, how + "+prompt"
    error = _parse_error(program)
    details["parses"] = error is None
    if error is not None:
        return _fail(task, f"Your program does not parse: {error}. No test was run.", details)
    details["defines_entry_point"] = _defines(program, task.entry_point)

    report = run_tests(sandbox, program, list(task.all_tests), setup=task.setup, test_setup=task.test_setup, timeout_per_test=timeout_per_test)
    details["execution"] = {"reason": report.execution.reason, "duration": round(report.execution.duration, 4),
                            "backend": report.execution.backend, "load_error": report.load_error,
                            "stdout": report.program_stdout[:2000]}
    details["tests"] = [{"test": o.test, "visible": i < len(task.visible_tests), "passed": o.passed, "output": o.output,
                         "error": o.error, "timed_out": o.timed_out} for i, o in enumerate(report.outcomes)]
    passed = report.passed
    success = report.all_passed
    visible = report.outcomes[: len(task.visible_tests)]
    lines: list[str] = []
    if report.load_error:
        lines.append(f"Your program failed before any test ran: {report.load_error}")
        if not details["defines_entry_point"]:
            lines.append(f"Note: it does not define `{task.entry_point}`, which the tests call.")
    else:
        ok = [o for o in visible if o.passed]
        bad = [o for o in visible if not o.passed]
        if visible:
            lines.append(f"{len(ok)} of {len(visible)} visible tests passed.")
        else:
            hidden_bad = [o for o in report.outcomes[len(visible):] if not o.passed]
            kinds = sorted({(o.error or "AssertionError").split(":")[0] for o in hidden_bad})
            lines.append("This task has no visible tests; " + (f"the hidden tests failed ({', '.join(kinds)})." if hidden_bad else "the hidden tests passed."))
        if ok:
            lines += ["Tests passed:", *(o.describe() for o in ok)]
        if bad:
            lines += ["Tests failed:", *(o.describe() for o in bad)]
            if not details["defines_entry_point"] and any(o.error and "NameError" in o.error for o in bad):
                lines.append(f"Note: your program does not define `{task.entry_point}`, which the tests call.")
        if visible and not bad and not success:
            lines.append("Some hidden tests failed.")
    return Feedback(success=success, score=passed / max(1, len(task.all_tests)), message="\n".join(lines),
                    privileged=_privileged(task), details=details)
