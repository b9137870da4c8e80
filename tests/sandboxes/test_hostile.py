"""Hostile programs: each must come back as a failed run with a clear reason, within its time
limit, and leave the caller alive and no process behind. Run on every backend."""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import time

import pytest

from tests.sandboxes.conftest import wait_no_job_processes

pytestmark = pytest.mark.timeout(120)


def _run(sandbox, program: str, **limits):
    start = time.monotonic()
    result = sandbox.run(textwrap.dedent(program), **limits)
    return result, time.monotonic() - start


def test_fork_bomb_is_contained(sandbox):
    result, elapsed = _run(sandbox, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """, timeout=3)
    assert not result.ok
    assert result.timed_out or result.error, result
    assert elapsed < 3 + 10
    assert wait_no_job_processes() == []
    assert sandbox.run("print('alive')").stdout == "alive\n"


def test_memory_bomb_reports_out_of_memory(sandbox):
    result, elapsed = _run(sandbox, """
        blocks = []
        while True:
            blocks.append(bytearray(64 * 1024 * 1024))
        """, timeout=10, memory_mb=256)
    assert not result.ok
    assert result.out_of_memory, result
    assert "memory" in result.reason
    assert elapsed < 10


def test_endless_loop_times_out(sandbox):
    result, elapsed = _run(sandbox, "while True:\n    pass\n", timeout=1.5)
    assert result.timed_out and result.reason == "timed out"
    assert 1.4 < elapsed < 1.5 + 5


def test_endless_print_is_cut(sandbox):
    result, elapsed = _run(sandbox, "while True:\n    print('spam' * 100)\n", timeout=5, max_output=10_000, max_file_mb=1)
    assert not result.ok
    assert result.output_truncated or result.timed_out
    assert len(result.stdout) <= 10_000
    assert elapsed < 5 + 5


def test_no_network_even_to_the_hosts_loopback(sandbox):
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(6)
    port = server.getsockname()[1]

    def accept() -> None:
        try:
            conn, _ = server.accept()
            received.append(conn.recv(100))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    result, _ = _run(sandbox, f"""
        import socket
        s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
        s.sendall(b"leak")
        print("connected")
        """, timeout=5)
    thread.join()
    server.close()
    assert received == []
    assert "connected" not in result.stdout
    assert result.exit_code != 0


def test_writes_outside_the_work_dir_fail(sandbox, tmp_path):
    os.chmod(tmp_path, 0o777)
    targets = [str(tmp_path / "escaped.txt"), "/etc/escaped.txt", "/usr/escaped.txt", "/escaped.txt",
               os.path.join(os.getcwd(), "escaped.txt")]
    program = "import sys\nfor path in %r:\n    try:\n        open(path, 'w').write('x')\n        print('WROTE', path)\n    except OSError as exc:\n        print('refused', path, type(exc).__name__)\n" % (targets,)
    result, _ = _run(sandbox, program, timeout=5)
    assert result.exit_code == 0, result
    assert "WROTE" not in result.stdout, result.stdout
    for target in targets:
        assert not os.path.exists(target), target


def test_files_it_should_not_read_stay_hidden(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    os.chmod(secret, 0o644)
    os.chmod(tmp_path, 0o755)
    program = "for path in %r:\n    try:\n        print(open(path).read())\n    except OSError as exc:\n        print('refused', type(exc).__name__)\n" % ([str(secret), "/etc/shadow", "/root/.bash_history", os.path.abspath(__file__)],)
    result, _ = _run(sandbox, program, timeout=5)
    assert "TOP-SECRET" not in result.stdout
    assert "root:" not in result.stdout
    assert "def test_files_it_should_not_read_stay_hidden" not in result.stdout


def test_killing_its_parent_fails_the_run_only(sandbox):
    result, elapsed = _run(sandbox, """
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(1, signal.SIGKILL)
        import time; time.sleep(5)
        print("still here")
        """, timeout=3)
    assert not result.ok
    assert "still here" not in result.stdout
    assert elapsed < 3 + 15
    assert wait_no_job_processes() == []
    assert sandbox.run("print(6 * 7)").stdout == "42\n"


def test_daemon_does_not_outlive_its_run(sandbox):
    result, _ = _run(sandbox, """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
        print("parent done")
        """, timeout=5)
    assert result.stdout == "parent done\n"
    assert wait_no_job_processes() == []


def test_caller_survives_a_batch_of_hostile_programs(sandbox):
    programs = ["import os\nos.kill(os.getppid(), 9)", "while True: pass", "raise SystemExit(3)", "print('ok')"]
    results = sandbox.run_many(programs, timeout=2)
    assert [r.stdout for r in results][-1] == "ok\n"
    assert results[2].exit_code == 3
    assert results[1].timed_out
