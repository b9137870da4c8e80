"""Shared checks of the adversarial-input tests (issue 16): a bounded, valid step and linear readers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium

from rerest_envs.testing import step_problems

MB = 1_000_000
#: Seconds one step may take. Envs read a bounded part of an action, so a step takes milliseconds;
#: the bound is generous because the test machine may be loaded.
STEP_BOUND_S = 2.0


def valid_step(env: gymnasium.Env, action: str, label: str) -> tuple[str, float, bool, bool, dict[str, Any], float]:
    """`env.step(action)`, checked: within STEP_BOUND_S, and nothing `rerest_envs.testing.step_problems`
    objects to (observation in the space and valid UTF-8, `Feedback` JSON round trip). Returns the step's five values and its seconds."""
    start = time.perf_counter()
    obs, reward, terminated, truncated, info = env.step(action)
    elapsed = time.perf_counter() - start
    assert elapsed < STEP_BOUND_S, f"{label}: {elapsed:.2f} s"
    problems = step_problems(env, (obs, reward, terminated, truncated, info))  # space, UTF-8, Feedback JSON round trip
    assert not problems, f"{label}: {problems}"
    return obs, float(reward), terminated, truncated, info, elapsed


def scaling_ratio(read: Callable[[str], object], unit: str) -> float:
    """How many times as long `read` takes on 1 MB of `unit` repeated as on 100 KB (best of 3 each):
    about 10 when `read` is linear, about 100 when it is quadratic."""
    def best(text: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            read(text)
            times.append(time.perf_counter() - start)
        return min(times)

    small, large = (unit * (size // len(unit)) for size in (MB // 10, MB))
    return best(large) / max(best(small), 1e-4)
