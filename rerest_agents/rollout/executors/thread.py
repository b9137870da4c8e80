"""`ThreadExecutor`: env instances in this process, stepped together by a thread pool (the default).

Threads suffice on one machine: sandboxes, game engines and file reads release the GIL while the
model waits, and nothing is copied between processes. Resets run one after another, as they always
have (building envs is where third-party code is least likely to be thread-safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

import gymnasium

from rerest_agents.rollout.executors.base import EnvExecutor, StepTimeout, Transition, reset_env, step_env


class ThreadExecutor(EnvExecutor):
    """Slots are the env objects themselves; finished envs are kept and reused (see module docstring)."""

    def __init__(self, make: Callable[[], gymnasium.Env], threads: int = 2, step_timeout: float | None = None) -> None:
        self._make, self._threads, self._step_timeout = make, threads, step_timeout
        self._free: list[gymnasium.Env] = []
        self._abandoned: set[int] = set()  # ids of envs whose step hung: never reused or closed here
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
        if self._step_timeout is None:
            return list(self._pool.map(one, moves))
        return self._step_with_timeout(moves, one)

    def _step_with_timeout(self, moves: Sequence[tuple[Any, str]],
                           one: Callable[[tuple[Any, str]], Transition | BaseException]) -> list[Transition | BaseException]:
        """Like `pool.map(one, moves)`, but a step running longer than the timeout is abandoned.

        Its thread cannot be stopped, so it is left behind: the steps still queued move to a fresh
        pool, and the env is never reused.
        """
        started: dict[int, float] = {}

        def timed(i: int) -> Transition | BaseException:
            started[i] = time.monotonic()
            return one(moves[i])

        assert self._pool is not None and self._step_timeout is not None
        index = {self._pool.submit(timed, i): i for i in range(len(moves))}
        out: list[Transition | BaseException | None] = [None] * len(moves)
        pending = set(index)
        while pending:
            done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
            for future in done:
                out[index[future]] = future.result()
            now = time.monotonic()
            hung = {f for f in pending if index[f] in started and now - started[index[f]] > self._step_timeout}
            if not hung:
                continue
            for future in hung:
                out[index[future]] = StepTimeout(self._step_timeout)
                self._abandoned.add(id(moves[index[future]][0]))
            pending -= hung
            queued = {f for f in pending if f.cancel()}
            self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(self._threads)
            pending -= queued
            for future in queued:
                moved = self._pool.submit(timed, index[future])
                index[moved] = index[future]
                pending.add(moved)
        return out  # type: ignore[return-value]

    def release(self, slot: Any) -> None:
        if id(slot) not in self._abandoned:
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
