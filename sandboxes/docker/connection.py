"""`DockerConnection`: talk to a worker that runs as a container's main process.

The container is created with stdin open (and closed when the one attached client goes away), the
connection attaches to its stdin/stdout/stderr *before* starting it (so not a byte of the ready
line is missed), and speaks the worker's JSON lines over the attach socket. Without a TTY the daemon
multiplexes stdout and stderr on that socket in frames: an 8-byte header (stream: 1 = stdout,
2 = stderr; three zero bytes; payload size as big-endian uint32) then the payload.

If the host process dies, its end of the socket closes, docker closes the container's stdin, the
worker reads EOF and exits, and the container (created with auto-remove) disappears.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any

from sandboxes.pool import WorkerConnection, WorkerDied

STDOUT, STDERR = 1, 2
_STDERR_KEEP = 4096


class DockerConnection(WorkerConnection):
    """One container running `worker.py`; `kill()` removes the container (force)."""

    def __init__(self, client: Any, image: str, command: list[str], *, host_config: dict[str, Any],
                 labels: dict[str, str], environment: dict[str, str] | None = None, name: str | None = None) -> None:
        api = client.api
        self._api = api
        self._lock = threading.Lock()
        self._closed = False
        self._frames = b""
        self._stdout = b""
        self._stderr = b""
        self._sock: Any = None
        self._raw: socket.socket | None = None
        created = api.create_container(
            image, command=command, stdin_open=True, detach=False, tty=False, labels=labels, name=name,
            environment=environment, working_dir="/work", user="0:0", hostname="sandbox", host_config=host_config,
        )
        self.container_id: str = created["Id"]
        try:
            self._sock = api.attach_socket(self.container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._raw = getattr(self._sock, "_sock", self._sock)
            api.start(self.container_id)
        except BaseException:
            self.kill()
            raise

    # -- WorkerConnection --------------------------------------------------------------------------
    def send_line(self, data: bytes) -> None:
        if self._raw is None or self._closed:
            raise WorkerDied("the container connection is closed")
        try:
            self._raw.sendall(data)
        except OSError as exc:
            raise WorkerDied(f"cannot write to the container: {exc}{self._why()}") from None

    def read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._stdout:
            if self._raw is None or self._closed:
                raise WorkerDied("the container connection is closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerDied(f"no answer within {timeout:.0f} s")
            try:
                ready, _, _ = select.select([self._raw], [], [], left)
            except (OSError, ValueError) as exc:  # closed under us by kill()
                raise WorkerDied(f"the container connection broke ({exc})") from None
            if not ready:
                continue
            try:
                chunk = self._raw.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                raise WorkerDied(f"the container connection broke ({exc}){self._why()}") from None
            if not chunk:
                raise WorkerDied(f"the container exited{self._why()}")
            self._feed(chunk)
        line, self._stdout = self._stdout.split(b"\n", 1)
        return line

    def kill(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for closer in (getattr(self._sock, "close", None), getattr(self._raw, "close", None)):
            if closer is not None:
                try:
                    closer()
                except OSError:
                    pass
        try:
            remove_container(self._api, getattr(self, "container_id", None))
        except Exception:  # the daemon went away: the container dies with its stdin anyway (auto-remove)
            pass

    # -- helpers -----------------------------------------------------------------------------------
    def _feed(self, chunk: bytes) -> None:
        """Split docker's multiplexed frames into stdout (kept whole) and stderr (last few KiB)."""
        self._frames += chunk
        while len(self._frames) >= 8:
            size = int.from_bytes(self._frames[4:8], "big")
            if len(self._frames) < 8 + size:
                break
            stream, payload = self._frames[0], self._frames[8:8 + size]
            self._frames = self._frames[8 + size:]
            if stream == STDOUT:
                self._stdout += payload
            elif stream == STDERR:
                self._stderr = (self._stderr + payload)[-_STDERR_KEEP:]

    @property
    def stderr(self) -> str:
        """What the worker wrote to stderr so far (its last few KiB)."""
        return self._stderr.decode(errors="replace")

    def _why(self) -> str:
        """': <state>, <last stderr line>' for error messages, from what is still known."""
        details = []
        try:
            state = self._api.inspect_container(self.container_id)["State"]
            if state.get("OOMKilled"):
                details.append("killed by the out-of-memory killer")
            elif not state.get("Running"):
                details.append(f"status {state.get('ExitCode')}")
        except Exception:  # already removed (auto-remove) or daemon gone
            pass
        tail = self.stderr.strip().splitlines()
        if tail:
            details.append(tail[-1][:300])
        return (": " + "; ".join(details)) if details else ""


def remove_container(api: Any, container_id: str | None) -> None:
    """Remove a container with force, ignoring one that is already gone or being removed."""
    if not container_id:
        return
    try:
        api.remove_container(container_id, force=True)
    except Exception as exc:  # NotFound, "removal already in progress", daemon gone: nothing left to do
        if "No such container" in str(exc) or "already in progress" in str(exc) or "is not running" in str(exc):
            return
        if "404" in str(exc) or "409" in str(exc):
            return
        raise
