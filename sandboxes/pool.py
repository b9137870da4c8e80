"""A pool of warm sandbox workers, whatever isolation layer they live in.

A backend only says how to start one worker (`spawn`) and gets back a `WorkerConnection`; the pool
hands jobs to idle workers, notices a worker that died or hangs (say, a program that killed its
parent), throws it away and starts a new one, so one hostile program costs one failed run and
nothing more. Workers are started lazily and replaced in the background.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from sandboxes.errors import SandboxUnavailable

#: Seconds a worker may take, beyond the job's own timeout, to report back before it is declared dead.
GRACE_SECONDS = 10.0


class WorkerDied(Exception):
    """The worker's channel closed or went silent."""


class WorkerConnection(ABC):
    """A line-oriented channel to one running `sandboxes/worker.py`."""

    @abstractmethod
    def send_line(self, data: bytes) -> None:
        """Write one line (the newline is included in `data`)."""

    @abstractmethod
    def read_line(self, timeout: float) -> bytes:
        """Return the next line; raise `WorkerDied` on EOF or when `timeout` seconds pass."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the worker and everything under it; safe to call twice."""


def _answer(on_request: Callable[[str], str] | None, request: Any) -> str:
    """The caller's answer to one channel request; its failures become answer text, never a dead run."""
    if on_request is None:
        return "error: this run has no channel handler"
    try:
        answer = on_request(str(request))
    except Exception as exc:  # the handler's bug must not kill the worker or the run
        return f"error: {type(exc).__name__}: {exc}"
    return answer if isinstance(answer, str) else str(answer)


class WorkerPool:
    """Up to `size` workers made by `spawn(index)`; `submit` runs one job on an idle worker."""

    def __init__(self, spawn: Callable[[int], WorkerConnection], size: int, *, name: str) -> None:
        if size < 1:
            raise ValueError(f"A worker pool needs size >= 1, got {size}.")
        self._spawn, self.size, self.name = spawn, size, name
        self._idle: queue.Queue[tuple[int, WorkerConnection | None]] = queue.Queue()
        for index in range(size):
            self._idle.put((index, None))  # started on first use
        self._ids = itertools.count()
        self._all: dict[int, WorkerConnection] = {}
        self._lock = threading.Lock()
        self._closed = False
        # Workers die with the thread that started them (bubblewrap's --die-with-parent and the
        # worker's PR_SET_PDEATHSIG follow the parent *thread*), so every worker is started by one
        # long-lived spawner thread, never by a short-lived caller thread such as a thread pool's.
        self._spawn_requests: queue.Queue[tuple[int, queue.Queue[Any]]] = queue.Queue()
        self._spawner = threading.Thread(target=self._spawn_loop, name=f"{name}-sandbox-spawner", daemon=True)
        self._spawner.start()

    def _spawn_loop(self) -> None:
        while True:
            index, reply = self._spawn_requests.get()
            if index < 0:
                return
            try:
                reply.put(self._spawn(index))
            except BaseException as exc:  # handed to the caller, raised there
                reply.put(exc)

    def _start(self, index: int) -> WorkerConnection:
        reply: queue.Queue[Any] = queue.Queue()
        self._spawn_requests.put((index, reply))
        conn = reply.get()
        if isinstance(conn, BaseException):
            raise conn
        try:
            hello = json.loads(conn.read_line(timeout=60.0))
        except (WorkerDied, ValueError) as exc:
            conn.kill()
            raise SandboxUnavailable(f"The {self.name} sandbox worker did not start ({exc}).") from None
        if not hello.get("ready"):
            conn.kill()
            raise SandboxUnavailable(f"The {self.name} sandbox worker sent {hello!r} instead of a ready line.")
        with self._lock:
            self._all[index] = conn
        return conn

    def warm_up(self) -> None:
        """Start every worker now instead of on first use."""
        taken = [self._idle.get() for _ in range(self.size)]
        try:
            taken = [(i, c if c is not None else self._start(i)) for i, c in taken]
        finally:
            for item in taken:
                self._idle.put(item)

    def submit(self, job: dict[str, Any], on_request: Callable[[str], str] | None = None) -> dict[str, Any]:
        """Run `job` (see worker.py) and return the worker's result dict.

        With `on_request`, the job gets a channel: each request the program sends is answered with
        `on_request(request)` (an exception becomes the answer `error: ...`).
        A worker that dies or stays silent for the job's timeout plus `GRACE_SECONDS` is killed and
        replaced; the result then carries `error` instead of program output.
        """
        if self._closed:
            raise RuntimeError(f"This {self.name} sandbox is closed.")
        index, conn = self._idle.get()
        try:
            if conn is None:
                conn = self._start(index)
            job = {**job, "id": next(self._ids)}
            if on_request is not None:
                job["channel"] = True
            start = time.monotonic()
            try:
                conn.send_line((json.dumps(job) + "\n").encode())
                while True:
                    result = json.loads(conn.read_line(timeout=float(job["timeout"]) + GRACE_SECONDS))
                    if "request" not in result:
                        break
                    conn.send_line((json.dumps({"answer": _answer(on_request, result["request"])}) + "\n").encode())
            except (WorkerDied, OSError, ValueError) as exc:
                conn.kill()
                with self._lock:
                    self._all.pop(index, None)
                conn = None
                return {"error": f"the sandbox worker died during the run ({exc}); it was replaced",
                        "duration": time.monotonic() - start}
            if "worker_error" in result:
                return {"error": result["worker_error"].strip().rsplit("\n", 1)[-1], "duration": time.monotonic() - start}
            return result
        finally:
            self._idle.put((index, conn))

    def close(self) -> None:
        """Kill every worker; later `submit` calls raise. Safe to call twice."""
        if not self._closed:
            self._spawn_requests.put((-1, queue.Queue()))
        self._closed = True
        with self._lock:
            conns, self._all = list(self._all.values()), {}
        for conn in conns:
            conn.kill()
