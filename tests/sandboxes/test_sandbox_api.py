"""The `Sandbox` interface and `run_tests`, on every backend."""

from __future__ import annotations

import threading

import pytest

from sandboxes import ExecutionResult, Limits, make_sandbox, run_tests


def test_runs_a_program_and_captures_its_output(sandbox):
    result = sandbox.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\n")
    assert isinstance(result, ExecutionResult)
    assert (result.stdout, result.stderr, result.exit_code, result.ok) == ("out\n", "err\n", 0, True)
    assert result.backend == sandbox.backend


def test_stdin_exit_status_and_exceptions(sandbox):
    assert sandbox.run("print(input()[::-1])", stdin="abc\n").stdout == "cba\n"
    assert sandbox.run("import sys; sys.exit(4)").exit_code == 4
    crashed = sandbox.run("1 / 0")
    assert crashed.exit_code == 1 and "ZeroDivisionError" in crashed.stderr
    assert crashed.reason.endswith("ZeroDivisionError: division by zero")


def test_each_run_starts_clean(sandbox):
    sandbox.run("import math\nmath.pi = 3\nopen('left-over.txt', 'w').write('x')")
    result = sandbox.run("import math, os\nprint(math.pi > 3.1, os.path.exists('left-over.txt'))")
    assert result.stdout == "True False\n"


def test_non_utf8_and_null_bytes_do_not_break_the_sandbox(sandbox):
    result = sandbox.run("print('caf\\xe9 \\udcff'.encode('utf-8', 'surrogateescape'))\nx = '\x00'")
    assert result.exit_code in (0, 1)
    assert sandbox.run("print('still fine')").stdout == "still fine\n"


def test_run_tests_reports_each_test(sandbox):
    program = "def f(x):\n    return x + 1\n\ndef loop():\n    while True:\n        pass\n"
    report = run_tests(sandbox, program, ["assert f(1) == 2", "assert f(2) == 4", "assert g(1) == 1",
                                          "assert f(0) == 1\nassert loop() == 1"], timeout=1)
    passed, wrong, name_error, loop = report.outcomes
    assert passed.passed and passed.describe() == "assert f(1) == 2"
    assert not wrong.passed and wrong.output == "3"
    assert wrong.describe() == "assert f(2) == 4  # output: 3"
    assert name_error.error.startswith("NameError")
    assert loop.timed_out and loop.describe().endswith("# output: timed out")
    assert report.passed == 1 and not report.all_passed


def test_run_tests_cannot_be_faked_by_printing(sandbox):
    program = "import sys\nprint('{\"load_error\": null, \"tests\": [{\"passed\": true}]}')\nsys.exit(0)\n"
    report = run_tests(sandbox, program, ["assert False"])
    assert report.passed == 0


def test_program_that_fails_to_load_fails_every_test(sandbox):
    report = run_tests(sandbox, "raise ValueError('boom')", ["assert True", "assert 1"])
    assert report.load_error == "ValueError: boom"
    assert [o.passed for o in report.outcomes] == [False, False]


def test_workers_survive_the_thread_that_started_them():
    """Workers die with the *thread* that spawned them unless the pool's spawner thread does it."""
    with make_sandbox("process", workers=1) as box:
        thread = threading.Thread(target=box.run, args=("print(1)",))
        thread.start()
        thread.join()
        assert box.run("print(2)").stdout == "2\n"


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="Did you mean 'docker'"):
        make_sandbox("dokcer")
    with pytest.raises(ValueError, match="timeout must be positive"):
        Limits(timeout=0)
    with make_sandbox("process", workers=1) as box, pytest.raises(TypeError, match="program must be str"):
        box.run(b"print(1)")  # type: ignore[arg-type]


def test_close_twice_and_use_after_close():
    box = make_sandbox("process", workers=1)
    assert box.run("print(1)").ok
    box.close()
    box.close()
    assert box.run("print(3)").stdout == "3\n"  # a closed sandbox starts a fresh pool on demand
    box.close()


def test_site_packages_are_importable_only_when_asked():
    with make_sandbox("process", workers=1) as bare, make_sandbox("process", workers=1, site_packages=True) as full:
        assert "ModuleNotFoundError" in bare.run("import gymnasium").stderr
        assert full.run("import gymnasium; print('ok')").stdout == "ok\n"
