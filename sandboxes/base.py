"""`Sandbox`: the one interface every execution backend implements (DESIGN §2)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sandboxes.pool import WorkerPool
from sandboxes.result import ExecutionResult, Limits


class Sandbox(ABC):
    """Runs untrusted Python programs in isolation and reports how each run ended.

    Use it as a context manager (or call `close()`) so that no worker or container outlives it::

        with make_sandbox("process") as sandbox:
            result = sandbox.run("print(sum(range(10)))", timeout=2)
            assert result.stdout == "45\\n"
    """

    #: Name used in results and messages (`process`, `docker`).
    backend: str = ""

    def __init__(self, *, workers: int = 2, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.workers = workers
        self._pool: WorkerPool | None = None

    # -- backend hook ---------------------------------------------------------------------------
    @abstractmethod
    def _make_pool(self) -> WorkerPool:
        """Build the pool of warm workers (called once, on first use)."""

    @property
    def isolation(self) -> str:
        """Plain-words summary of what isolates a run (shown in benchmarks and `details`)."""
        return self.backend

    # -- public API -----------------------------------------------------------------------------
    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            self._pool = self._make_pool()
        return self._pool

    def warm_up(self) -> "Sandbox":
        """Start all workers now, so the first runs do not pay start-up."""
        self.pool.warm_up()
        return self

    def run(self, program: str, *, stdin: str = "", timeout: float | None = None, memory_mb: int | None = None,
            max_output: int | None = None, max_processes: int | None = None, max_file_mb: int | None = None,
            on_request: Callable[[str], str] | None = None) -> ExecutionResult:
        """Run one Python program; keyword limits override `self.limits` for this run only.

        `on_request` opens a channel (see `sandboxes.channel`): the program may send text requests
        while it runs, each answered in this process by `on_request(request) -> str`. Time spent in
        `on_request` does not count against `timeout`. `result.extra` then has `requests` (how many
        were answered) and `channel_error` (why the channel was closed early, else None).
        """
        if not isinstance(program, str):
            raise TypeError(f"program must be str, got {type(program).__name__}.")
        overrides = {k: v for k, v in dict(timeout=timeout, memory_mb=memory_mb, max_output=max_output,
                                           max_processes=max_processes, max_file_mb=max_file_mb).items() if v is not None}
        limits = Limits(**{**self.limits.__dict__, **overrides})
        job: dict[str, Any] = {"program": program, "stdin": stdin, **limits.__dict__}
        payload = self.pool.submit(job, on_request) if on_request is not None else self.pool.submit(job)
        if "error" in payload:
            return ExecutionResult(error=payload["error"], duration=payload.get("duration", 0.0), backend=self.backend)
        return ExecutionResult.from_worker(payload, self.backend)

    def run_many(self, programs: Sequence[str], **limits: Any) -> list[ExecutionResult]:
        """Run programs concurrently on all workers; results come back in input order."""
        with ThreadPoolExecutor(max_workers=self.workers) as executor:
            return list(executor.map(lambda p: self.run(p, **limits), programs))

    def close(self) -> None:
        """Stop every worker (and container); safe to call twice."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
