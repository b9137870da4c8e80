"""fast-downward's plan for a game, computed in a child process with a time and memory limit.

The planner runs inside fast-downward's C library, which Python cannot interrupt: on an unsolvable
goal in a large scene it searches the whole state space for minutes and gigabytes. So the env (for
games whose expert demonstration cannot be translated) and the generator (`planner=True`) ask for
plans here: a child interpreter loads the game, plans from the initial state and prints the
commands; a timeout or an exhausted memory limit becomes a one-line `GameError`.

The child is safe to start from a threaded process: no `preexec_fn` (which may deadlock after a
fork of a threaded parent); the child sets its own memory limit (`RLIMIT_AS`) before it imports the
engine, runs in a session of its own (`start_new_session=True`), and on a timeout its whole process
group is killed. `PlanJob` starts a child without waiting for it, so the env's `reset` stays fast
and the plan is collected when feedback needs it.

The game goes to the child in a temporary file and its output comes back in temporary files (a
pipe left unread would stall a child that prints a lot while the env waits for the agent).

Run as `python -m rerest_envs.alfworld.planner MEMORY_MB [GAME_FILE]` (default: the game on stdin)
to print a game's plan.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from rerest_envs.alfworld.engine import GameError

#: Seconds and megabytes a planning child may use.
DEFAULT_TIMEOUT, DEFAULT_MEMORY_MB = 120.0, 6144
_MARKER = "RERST_PLAN "


class PlanJob:
    """A planning child started now and collected later (`result`); `cancel` kills it.

    Args:
        game: The game (dict of a `game.tw-pddl`, old grammar).
        name: How error messages name the game.
        timeout: Seconds the child may run, counted from its start (not from `result`).
        memory_mb: Address-space limit the child sets on itself.
    """

    def __init__(self, game: dict[str, Any], *, name: str = "", timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB) -> None:
        self.name, self.timeout, self.memory_mb = name, timeout, memory_mb
        self.started = time.monotonic()
        self._result: list[str] | GameError | None = None
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="rerest-plan-", delete=False, encoding="utf-8") as f:
            json.dump(game, f)
        self._game_file = f.name
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        self._proc = subprocess.Popen([sys.executable, "-m", "rerest_envs.alfworld.planner", str(int(memory_mb)), self._game_file],
                                      stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, start_new_session=True)

    def result(self) -> list[str]:
        """Wait (at most until `timeout` after the start) for the plan; [] when the planner proves there is none.

        Raises:
            GameError: the game does not load, or the planner crashed, ran out of time or of memory.
        """
        if self._result is None:
            self._result = self._collect()
        if isinstance(self._result, GameError):
            raise self._result
        return list(self._result)

    def _collect(self) -> list[str] | GameError:
        what = f"Planning ALFWorld game {self.name or '(unnamed)'}"
        left = max(0.0, self.timeout - (time.monotonic() - self.started))
        try:
            self._proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.cancel()
            return GameError(f"{what} gave up after {self.timeout:.0f} s (the goal may be unreachable); pass a larger timeout to wait longer.")
        stdout, stderr = self._read(self._out), self._read(self._err)
        self._cleanup()
        for line in reversed(stdout.splitlines()):
            if line.startswith(_MARKER):
                return [str(c) for c in json.loads(line[len(_MARKER):])]
        tail = " ".join((stderr or stdout).split()[-30:]) or f"exit status {self._proc.returncode}"
        return GameError(f"{what} failed (exit status {self._proc.returncode}, memory limit {self.memory_mb} MB): {tail[-300:]}")

    @staticmethod
    def _read(handle: Any) -> str:
        handle.seek(0)
        return handle.read().decode("utf-8", "replace")

    def _cleanup(self) -> None:
        for handle in (self._out, self._err):
            handle.close()
        try:
            os.unlink(self._game_file)
        except OSError:
            pass

    def cancel(self) -> None:
        """Kill the child's process group (idempotent), reap it and remove its files."""
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._cleanup()

    def __del__(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            self.cancel()


def plan_game(game: dict[str, Any], *, name: str = "", timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB) -> list[str]:
    """The planner's commands from the game's initial state to its goal ([] when it proves there is none).

    Raises:
        GameError: the game does not load, or the planner crashed, ran out of time or of memory.
    """
    return PlanJob(game, name=name, timeout=timeout, memory_mb=memory_mb).result()


def _main() -> int:
    if len(sys.argv) > 1:  # the memory limit, set before the engine is imported
        limit = int(sys.argv[1]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from rerest_envs.alfworld.engine import GameEngine

    engine = GameEngine()
    try:
        if len(sys.argv) > 2:
            with open(sys.argv[2], encoding="utf-8") as f:
                game, name = json.load(f), sys.argv[2]
        else:
            game, name = json.loads(sys.stdin.read()), "stdin"
        engine.load(game, name)
        engine.reset()
        plan = engine.plan()
    except GameError as e:
        print(str(e), file=sys.stderr)
        return 1
    finally:
        engine.close()
    print(_MARKER + json.dumps(plan), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
