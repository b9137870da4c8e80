"""fast-downward's plan for a game, computed in a child process with a time and memory limit.

The planner runs inside fast-downward's C library, which Python cannot interrupt: on an unsolvable
goal in a large scene it searches the whole state space for minutes and gigabytes. So the env (for
games whose expert demonstration cannot be translated) and the generator (`planner=True`) ask for
plans here: a child interpreter loads the game, plans from the initial state and prints the
commands; a timeout or an exhausted memory limit becomes a one-line `GameError`.

Run as `python -m rerest_envs.alfworld.planner < game.tw-pddl` to print a game's plan.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from typing import Any

from rerest_envs.alfworld.engine import GameEngine, GameError

#: Seconds and megabytes a planning child may use.
DEFAULT_TIMEOUT, DEFAULT_MEMORY_MB = 120.0, 6144
_MARKER = "RERST_PLAN "


def plan_game(game: dict[str, Any], *, name: str = "", timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB) -> list[str]:
    """The planner's commands from the game's initial state to its goal ([] when it proves there is none).

    Raises:
        GameError: the game does not load, or the planner crashed, ran out of time or of memory.
    """
    def limit() -> None:
        limit_bytes = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    what = f"Planning ALFWorld game {name or '(unnamed)'}"
    try:
        done = subprocess.run([sys.executable, "-m", "rerest_envs.alfworld.planner"], input=json.dumps(game), text=True,
                              capture_output=True, timeout=timeout, preexec_fn=limit, check=False)
    except subprocess.TimeoutExpired as e:
        raise GameError(f"{what} gave up after {timeout:.0f} s (the goal may be unreachable); pass a larger timeout to wait longer.") from e
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_MARKER):
            return [str(c) for c in json.loads(line[len(_MARKER):])]
    tail = " ".join((done.stderr or done.stdout).split()[-30:]) or f"exit status {done.returncode}"
    raise GameError(f"{what} failed (exit status {done.returncode}, memory limit {memory_mb} MB): {tail[-300:]}")


def _main() -> int:
    engine = GameEngine()
    try:
        engine.load(json.loads(sys.stdin.read()), "stdin")
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
