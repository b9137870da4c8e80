"""Small user-style text envs for the `check_text_env` tests: one good, and one per fault the checker must catch.

None of them subclasses `rerest_envs.TextEnv`: they are what a user might write with plain gymnasium.
"""

from __future__ import annotations

import random
import re
from typing import Any

import gymnasium

from rerest_envs import AnyText, Feedback

_DIGITS = re.compile(r"\d+")


class CounterEnv(gymnasium.Env[str, str]):
    """A good env: guess the number; reads the first number of the action (at most 30 digits), two tries."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Text(200, charset="abcdefghijklmnopqrstuvwxyz0123456789 .,:")
        self.action_space = gymnasium.spaces.Text(1_000_000)
        self.target, self.tries = 0, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self.target, self.tries = int(self.np_random.integers(10)), 0
        return "guess a number from 0 to 9.", {"feedback": Feedback()}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self.tries += 1
        match = _DIGITS.search(action[:1_000])
        guess = int(match.group()[:30]) if match else None
        won = guess == self.target
        done = won or self.tries >= 2
        obs = "right." if won else ("no number found." if guess is None else f"{guess} is wrong.")
        feedback = Feedback(success=won if done else None, score=float(won), message=obs, details={"guess": guess})
        return obs, float(won), done, False, {"feedback": feedback}


class QuadraticEnv(CounterEnv):
    """Strips trailing spaces with a backtracking regex: quadratic on spaces followed by a letter."""

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        re.search(r" +$", action)
        return super().step(action)


class RaisingEnv(CounterEnv):
    """Reads the whole number with `int()`: more than 4,300 digits raise ValueError out of `step`."""

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        match = _DIGITS.search(action)
        if match:
            int(match.group())
        return super().step(action)


class NondeterministicEnv(CounterEnv):
    """Picks its range with the global `random` module instead of the seeded `np_random`."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed, options=options)
        top = random.randrange(10, 1_000_000)
        self.target = random.randrange(top)
        return f"guess a number from 0 to {top}.", {"feedback": Feedback()}


class EchoEnv(gymnasium.Env[str, str]):
    """Echoes the action whole: a lone surrogate makes the observation invalid UTF-8, a long action
    overflows the observation space, and the tuple in `details` of the empty action's feedback does not
    survive the JSON round trip."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = AnyText(50_000)
        self.action_space = gymnasium.spaces.Text(1_000_000)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        return "say something.", {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        details = {"length": (0, "chars")} if not action else {"length": len(action)}  # a tuple for the empty action
        return f"you said: {action}", 0.0, True, False, {"feedback": Feedback(details=details)}

