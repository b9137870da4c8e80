"""Limits found by issue 16, on every backend: sized tmpfs, a uid per worker, a capped `reason`."""

from __future__ import annotations

import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandboxes import make_sandbox

pytestmark = pytest.mark.timeout(180)


def test_files_are_capped_by_the_sized_tmpfs_and_output_survives(sandbox):
    program = textwrap.dedent("""
        import errno, os
        written = 0
        try:
            for i in range(400):
                with open("f%d" % i, "wb") as f:
                    f.write(b"x" * (4 << 20))
                written += 4
        except OSError as exc:
            print("stopped", written, errno.errorcode.get(exc.errno))
        else:
            print("wrote", written)
        """)
    result = sandbox.run(program, timeout=20)
    words = result.stdout.split()
    assert words[0] == "stopped" and words[2] == "ENOSPC", result
    assert int(words[1]) <= sandbox.work_mb, (words, sandbox.work_mb)
    assert sandbox.run("import os; print(len(os.listdir('.')))").stdout == "0\n"  # the next run starts empty


def test_two_sandboxes_side_by_side_do_not_share_a_process_count(sandbox):
    """A correct threaded answer (20 threads, limit 32) must pass in both of two sandboxes at once."""
    program = textwrap.dedent("""
        import threading, time
        threads = [threading.Thread(target=time.sleep, args=(1.5,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("ok")
        """)
    with make_sandbox(sandbox.backend, workers=1) as sibling:
        sibling.warm_up()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda box: box.run(program, timeout=20, max_processes=32), [sandbox, sibling]))
    assert [r.stdout for r in results] == ["ok\n", "ok\n"], [r.reason for r in results]


def test_reason_quotes_at_most_500_characters_of_stderr(sandbox):
    result = sandbox.run("import sys\nsys.stderr.write('E' * 64000)\nsys.exit(2)\n", timeout=5)
    assert result.exit_code == 2
    assert result.reason.startswith("exited with status 2: EEE") and len(result.reason) < 600
    assert "more characters" in result.reason
