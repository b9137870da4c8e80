"""A scripted agent plays every registered env through the Gymnasium API alone.

This file stands where a user of the envs stands: it imports nothing from rerest_envs or
rerest_agents, only gymnasium and the standard library, and reaches each env as
`gymnasium.make("rerest_envs:<id>")`. The list of ids comes from a separate interpreter (the way a
user would print it), so the test follows the registry without importing it here.

The agent reads the observation text and answers with text an LLM might produce (an "I don't know",
a fenced Python stub named after the function the task asks for, a bare code block), and the test
asserts the API contract on every step: types, reward in [0, 1], the episode ends within the spec's
`max_episode_steps`, and a failed episode comes with a non-empty feedback message.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EPISODES = 3
#: Step cap for an env whose spec sets no `max_episode_steps` (the test then fails if it is hit).
FALLBACK_STEP_CAP = 200


def _registered_ids() -> list[str]:
    code = "import json, rerest_envs; print(json.dumps(rerest_envs.registered_ids()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"Listing the registered ids failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


ENV_IDS = _registered_ids()


class ScriptedAgent:
    """Answers by rote: what a weak language agent might write, in a fixed rotation."""

    def __init__(self, style: int) -> None:
        self.style = style
        self.turn = 0

    def act(self, observation: str) -> str:
        self.turn += 1
        name = _function_name(observation)
        choice = (self.style + self.turn - 1) % 3
        if choice == 0:
            return "I don't know"
        if choice == 1 and name:
            return f"```python\ndef {name}(*args, **kwargs):\n    return None\n```"
        return "```python\nprint('hello')\n```"


def _function_name(observation: str) -> str | None:
    """The function the task asks for: from `def name(` or `assert name(` in the observation."""
    match = re.search(r"\bdef\s+([A-Za-z_]\w*)\s*\(", observation) or re.search(r"\bassert\s+([A-Za-z_]\w*)\s*\(", observation)
    return match.group(1) if match else None


def _check_feedback(feedback: Any) -> None:
    assert dataclasses.is_dataclass(feedback), f"info['feedback'] is a {type(feedback).__name__}, not a dataclass"
    fields = dataclasses.asdict(feedback)
    assert {"success", "score", "message", "privileged", "details"} <= set(fields)
    json.dumps(fields)  # JSON-serialisable, as trajectory records need
    assert fields["success"] in (None, True, False)
    assert 0.0 <= float(fields["score"]) <= 1.0
    assert isinstance(fields["message"], str) and isinstance(fields["privileged"], str)
    assert isinstance(fields["details"], dict)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_scripted_agent_plays_through_the_gymnasium_api(env_id: str) -> None:
    env = gymnasium.make(f"rerest_envs:{env_id}")
    limit = env.spec.max_episode_steps if env.spec is not None and env.spec.max_episode_steps else None
    try:
        for episode in range(EPISODES):
            agent = ScriptedAgent(style=episode)
            observation, info = env.reset(seed=1000 + episode)
            assert isinstance(observation, str) and observation.strip(), "the first observation is empty"
            assert isinstance(info, dict) and isinstance(info.get("task_id"), str)
            steps, ended = 0, False
            while not ended:
                assert steps < (limit or FALLBACK_STEP_CAP), f"{env_id}: episode {episode} did not end within {limit or FALLBACK_STEP_CAP} steps"
                action = agent.act(observation)
                observation, reward, terminated, truncated, info = env.step(action)
                steps += 1
                assert isinstance(observation, str)
                assert isinstance(reward, (int, float)) and 0.0 <= float(reward) <= 1.0, reward
                assert isinstance(terminated, bool) and isinstance(truncated, bool)
                assert isinstance(info, dict) and isinstance(info.get("task_id"), str)
                feedback = info["feedback"]
                _check_feedback(feedback)
                ended = terminated or truncated
            if limit is not None:
                assert steps <= limit
            if terminated:
                assert feedback.success in (True, False), f"{env_id}: success is {feedback.success!r} at episode end"
            if feedback.success is False or (terminated and float(reward) < 1.0):
                assert feedback.message.strip(), f"{env_id}: failed episode {episode} has an empty feedback message"
    finally:
        env.close()
