"""`ThreadExecutor`: env instances in this process, stepped together by a thread pool (the default).

Threads suffice on one machine: sandboxes, game engines and file reads release the GIL while the
model waits, and nothing is copied between processes. Resets run one after another, as they always
have (building envs is where third-party code is least likely to be thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium

from rerest_agents.rollout.executors.base import EnvExecutor, Transition, reset_env, step_env


class ThreadExecutor(EnvExecutor):
    """Slots are the env objects themselves; finished envs are kept and reused (see module docstring)."""

    def __init__(self, make: Callable[[], gymnasium.Env], threads: int = 2) -> None:
        self._make, self._threads = make, threads
        self._free: list[gymnasium.Env] = []
        self._pool: ThreadPoolExecutor | None = None

    def reset(self, requests: Sequence[tuple[int | None, dict[str, Any]]]) -> list[tuple[Any, str] | BaseException]:
        out: list[tuple[Any, str] | BaseException] = []
        for seed, options in requests:
            env = self._free.pop() if self._free else None
            try:
                out.append(reset_env(env, self._make, seed, options))
            except Exception as exc:  # unknown task id, broken game file, ...: data, not a crash
                if env is not None:
                    self._free.append(env)
                out.append(exc)
        return out

    def step(self, moves: Sequence[tuple[Any, str]]) -> list[Transition | BaseException]:
        def one(move: tuple[Any, str]) -> Transition | BaseException:
            try:
                return step_env(*move)
            except Exception as exc:
                return exc

        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads)
        return list(self._pool.map(one, moves))

    def release(self, slot: Any) -> None:
        self._free.append(slot)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for env in self._free:
            try:
                env.close()
            except Exception:
                pass
        self._free = []
