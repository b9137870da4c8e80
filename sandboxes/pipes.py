"""`PipeConnection`: talk to a worker through the stdin/stdout pipes of a local subprocess."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time

from sandboxes.pool import WorkerConnection, WorkerDied


class PipeConnection(WorkerConnection):
    """A worker started with `subprocess.Popen(argv)`, killed as a whole process group."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True, bufsize=0)
        self._buffer = b""

    def send_line(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(f"cannot write to the worker: {exc}") from None

    def read_line(self, timeout: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerDied(f"no answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise WorkerDied(f"the worker exited ({self._stderr_tail()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _stderr_tail(self) -> str:
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "still running"
        err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        return f"status {self.proc.returncode}" + (f": {err.splitlines()[-1]}" if err else "")

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
