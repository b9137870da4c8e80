"""Registry-wide env tests: every id in `rerest_envs.registered_ids()` gets all of them.

A new env is covered as soon as it is registered (STYLE habit 5): it must build through
`gymnasium.make`, pass gymnasium's `check_env`, reset deterministically from a seed, answer random
text without raising, survive a double `close()`, carry its manual in the class docstring
(habit 1), and be reachable as `gymnasium.make("rerest_envs:<id>")` from a fresh interpreter.
Env constructors may start sandboxes, so each id builds only a handful of envs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import rerest_envs
from rerest_envs import Feedback

ENV_IDS = rerest_envs.registered_ids()
REPO_ROOT = Path(__file__).resolve().parents[2]

#: The env manual's sections, in this order (STYLE habit 1).
DOC_HEADINGS = (
    "Description",
    "Action Space",
    "Observation Space",
    "Starting State",
    "Rewards",
    "Episode End",
    "Information",
    "Arguments",
    "Version History",
    "References",
)
SEEDS = (0, 1, 12345)
RANDOM_ACTIONS = 20


@pytest.fixture(scope="module", params=ENV_IDS)
def env_id(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def env(env_id: str) -> Iterator[gymnasium.Env]:
    """One env per id, shared by the tests of this module (construction may be slow)."""
    made = gymnasium.make(env_id)
    yield made
    made.close()


def test_ids_follow_the_naming_scheme() -> None:
    assert ENV_IDS, "rerest_envs registers no ids"
    for env_id in ENV_IDS:
        assert re.fullmatch(r"rerest/[A-Za-z0-9]+-v\d+", env_id), env_id
        assert gymnasium.spec(env_id).max_episode_steps == rerest_envs.ENV_SPECS[env_id][1]


def test_make(env: gymnasium.Env, env_id: str) -> None:
    assert env.spec is not None and env.spec.id == env_id
    assert isinstance(env.unwrapped, gymnasium.Env)
    assert isinstance(env.observation_space, gymnasium.spaces.Text)
    assert isinstance(env.action_space, gymnasium.spaces.Text)


def test_check_env(env: gymnasium.Env) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    complaints = [str(w.message) for w in caught if issubclass(w.category, UserWarning) and not issubclass(w.category, DeprecationWarning)]
    assert complaints == [], f"check_env warned: {complaints}"


def test_same_seed_same_episode(env: gymnasium.Env, env_id: str) -> None:
    twin = gymnasium.make(env_id)
    try:
        for seed in SEEDS:
            obs_a, info_a = env.reset(seed=seed)
            obs_b, info_b = twin.reset(seed=seed)
            assert obs_a == obs_b, f"seed {seed}: observations differ"
            assert info_a["task_id"] == info_b["task_id"], f"seed {seed}: task ids differ"
            # The same action on the same task must get the same answer.
            step_a = env.step("I don't know")
            step_b = twin.step("I don't know")
            assert step_a[:4] == step_b[:4], f"seed {seed}: the same action got different results"
            fb_a, fb_b = step_a[4]["feedback"], step_b[4]["feedback"]
            assert (fb_a.success, fb_a.score, fb_a.message) == (fb_b.success, fb_b.score, fb_b.message)
        # A task chosen by id is the one the seed chose.
        obs_c, info_c = twin.reset(options={"task_id": info_a["task_id"]})
        assert (obs_c, info_c["task_id"]) == (obs_a, info_a["task_id"])
        # Different seeds reach more than one task.
        assert len({env.reset(seed=s)[1]["task_id"] for s in range(10)}) > 1
    finally:
        twin.close()


def test_random_text_actions_are_answered(env: gymnasium.Env) -> None:
    env.action_space.seed(0)
    for i in range(RANDOM_ACTIONS):
        env.reset(seed=i)
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        assert isinstance(obs, str) and env.observation_space.contains(obs)
        assert isinstance(reward, float) and 0.0 <= reward <= 1.0
        assert isinstance(terminated, bool) and isinstance(truncated, bool)
        feedback = info["feedback"]
        assert isinstance(feedback, Feedback), type(feedback)
        assert Feedback.from_json(feedback.to_json()) == feedback
        assert isinstance(info["task_id"], str)


def test_close_twice(env_id: str) -> None:
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    env.close()
    env.close()


def test_docstring_is_the_manual(env: gymnasium.Env, env_id: str) -> None:
    cls = type(env.unwrapped)
    doc = cls.__doc__ or ""
    lines = [re.sub(r"^[#\s]+|[\s:]+$", "", line) for line in doc.splitlines()]
    positions = []
    for heading in DOC_HEADINGS:
        assert heading in lines, f"{cls.__qualname__} docstring lacks a '{heading}' heading"
        positions.append(lines.index(heading))
    assert positions == sorted(positions), f"{cls.__qualname__} headings out of order: {dict(zip(DOC_HEADINGS, positions))}"
    assert env_id in doc, f"{cls.__qualname__} docstring should show gymnasium.make({env_id!r}, ...) under Arguments"


def test_make_with_module_prefix_in_fresh_interpreter(env_id: str) -> None:
    code = textwrap.dedent(
        f"""
        import json, sys
        import gymnasium
        assert "rerest_envs" not in sys.modules
        env = gymnasium.make("rerest_envs:{env_id}")
        obs, info = env.reset(seed=0)
        print(json.dumps({{"id": env.spec.id, "obs": type(obs).__name__, "task_id": info["task_id"]}}))
        env.close()
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["id"] == env_id and result["obs"] == "str" and isinstance(result["task_id"], str)
