"""What a sandboxed execution returns: `Limits` going in, `ExecutionResult` coming out."""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass, field
from typing import Any


#: Characters of the program's last stderr line that `ExecutionResult.reason` quotes.
REASON_CHARS = 500


@dataclass(frozen=True)
class Limits:
    """Resource limits of one execution.

    Attributes:
        timeout: Wall-clock seconds before the program is killed (CPU time is capped at the same).
        memory_mb: Address-space limit of each process of the program, in MiB.
        max_output: Bytes of stdout and of stderr kept; the rest is cut and flagged.
        max_processes: Processes the program may run at once (enforced where jobs get their own uid).
        max_file_mb: Largest file the program may write, in MiB (stdout/stderr included).
    """

    timeout: float = 10.0
    memory_mb: int = 1024
    max_output: int = 64_000
    max_processes: int = 32
    max_file_mb: int = 16

    def __post_init__(self) -> None:
        for name in ("timeout", "memory_mb", "max_output", "max_processes", "max_file_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}.")


@dataclass(frozen=True)
class ExecutionResult:
    """How one program run ended.

    Attributes:
        stdout, stderr: What the program printed (cut at `Limits.max_output`).
        exit_code: Exit status when the program exited by itself, else None.
        signal: Number of the signal that killed it, else None.
        timed_out: Killed for exceeding the wall-clock or CPU-time limit.
        out_of_memory: Ran out of its memory limit (MemoryError or killed by the OOM killer).
        output_truncated: Printed more than `max_output` bytes or hit the file-size limit.
        duration: Seconds from start to end of the program.
        stray_processes: Processes the program left behind that the sandbox had to kill.
        error: Set when the sandbox itself failed for this run (e.g. the program killed its worker).
        backend: Which backend ran it (`process`, `docker`).
    """

    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    out_of_memory: bool = False
    output_truncated: bool = False
    duration: float = 0.0
    stray_processes: int = 0
    error: str | None = None
    backend: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Exited with status 0, within its limits, and the sandbox worked."""
        return self.exit_code == 0 and not (self.timed_out or self.out_of_memory or self.error)

    @property
    def reason(self) -> str:
        """One phrase for why the run failed ('' when it succeeded), at most ~560 characters."""
        if self.error:
            return f"sandbox error: {self.error}"
        if self.timed_out:
            return "timed out"
        if self.out_of_memory:
            return "ran out of memory"
        if self.signal == signal.SIGXFSZ or (self.output_truncated and self.signal):
            return "exceeded the output/file-size limit"
        if self.signal is not None:
            return f"killed by signal {signal.Signals(self.signal).name if self.signal in signal.Signals._value2member_map_ else self.signal}"
        if self.exit_code:
            last = self.stderr.strip().rsplit("\n", 1)[-1] if self.stderr.strip() else ""
            if len(last) > REASON_CHARS:
                last = last[:REASON_CHARS] + f"... ({len(last) - REASON_CHARS} more characters)"
            return f"exited with status {self.exit_code}" + (f": {last}" if last else "")
        return ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_worker(cls, payload: dict[str, Any], backend: str) -> "ExecutionResult":
        """Build from a worker's JSON result line (see `sandboxes/worker.py`)."""
        keys = {"stdout", "stderr", "exit_code", "signal", "timed_out", "out_of_memory",
                "output_truncated", "duration", "stray_processes"}
        extra = {k: payload[k] for k in ("requests", "channel_error") if k in payload}
        return cls(backend=backend, extra=extra, **{k: payload[k] for k in keys if k in payload})
