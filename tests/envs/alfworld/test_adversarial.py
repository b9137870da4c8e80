"""Hostile actions against ALFWorld-v0, both protocols (issue 16): a valid observation within the step
bound, no exception, nothing echoed, and the game still playable afterwards."""

from __future__ import annotations

import random

import pytest

from rerest_envs.alfworld import ALFWorldEnv
from tests.envs.adversarial import MB, valid_step
from tests.envs.hotpotqa.test_adversarial import ADVERSARIAL

from .conftest import GAME_PER_TYPE

TASK = GAME_PER_TYPE["cool"]
HOSTILE = {**ADVERSARIAL, "1 MB think": "think:" + " x" * (MB // 2), "1 MB go to": "go to " + "fridge 1 " * (MB // 9),
           "think and a lone surrogate": "think: \ud800", "only whitespace of every kind": " \t\n\r\x0b\x0c\xa0\u2028\u3000" * 1000}
VERBS = ["go to", "open", "close", "take", "put", "heat", "cool", "clean", "use", "examine", "look", "inventory", "think:"]


@pytest.fixture(scope="module", params=["default", "paper"])
def env(request: pytest.FixtureRequest) -> ALFWorldEnv:
    made = ALFWorldEnv(split="valid_unseen", task_types="cool", protocol=request.param)
    yield made
    made.close()


def test_hostile_actions_get_valid_observations(env: ALFWorldEnv) -> None:
    env.reset(options={"task_id": TASK})
    slowest = 0.0
    for name, action in HOSTILE.items():
        obs, reward, terminated, truncated, info, seconds = valid_step(env, action, name)
        slowest = max(slowest, seconds)
        assert reward == 0.0 and not terminated and "\ud800" not in obs and len(obs) < 1_000, name
        if truncated:
            env.reset(options={"task_id": TASK})
    assert "open fridge 1" in valid_step(env, "go to fridge 1", "after")[4]["admissible_actions"]
    print(f"{env.protocol}: {len(HOSTILE)} hostile actions, slowest {slowest * 1e3:.0f} ms")


def test_grammar_fuzz_never_raises(env: ALFWorldEnv) -> None:
    rng = random.Random(16)
    _, info = env.reset(options={"task_id": TASK})
    words = sorted({w for c in info["admissible_actions"] for w in c.split()}) + ["in/on", "from", "with", "]", "[", "99"]
    slowest, n = 0.0, 0
    for _ in range(300):
        action = " ".join([rng.choice(VERBS)] + rng.choices(words, k=rng.randint(0, 5)))
        action = rng.choice([action, action.upper(), action.title(), f"  {action}\t", action.replace(" ", "\xa0")])
        *_, terminated, truncated, info, seconds = valid_step(env, action, action)
        slowest, n = max(slowest, seconds), n + 1
        if terminated or truncated:
            env.reset(options={"task_id": TASK})
    print(f"{env.protocol}: {n} fuzzed commands, slowest {slowest * 1e3:.0f} ms")
