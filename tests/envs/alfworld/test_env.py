"""ALFWorld-v0 on the real engine: wording, expert plans per task type, feedback, truncation, garbage."""

from __future__ import annotations

import json
import random
import sys

import gymnasium
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.alfworld import ALFWorldEnv, SHORT_NAMES

from .conftest import GAME_PER_TYPE

COOL_BREAD = GAME_PER_TYPE["cool"]


def test_first_observation_and_replies_are_the_engines(unseen_env: ALFWorldEnv) -> None:
    obs, info = unseen_env.reset(options={"task_id": COOL_BREAD})
    assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly around you, you see a cabinet 6,")
    assert obs.endswith("\n\nYour task is to: put a cool bread in countertop.")
    assert info["task"] == "put a cool bread in countertop." and info["task_type"] == "cool"
    assert "go to fridge 1" in info["admissible_actions"] and info["steps"] == 0
    assert info["feedback"].success is None
    obs, reward, terminated, truncated, info = unseen_env.step("think: the bread should be on a countertop.")
    assert (obs, reward, terminated, truncated) == ("OK.", 0.0, False, False)
    assert unseen_env.step("fly to the moon")[0] == "Nothing happens."
    assert unseen_env.step("put bread 1 in countertop 1")[0] == "Nothing happens."  # not holding it
    obs, *_ , info = unseen_env.step("  Go to   FRIDGE 1 ")  # case and spacing do not matter
    assert obs.startswith("You arrive at loc ") and obs.endswith("The fridge 1 is closed.")
    assert "open fridge 1" in info["admissible_actions"] and info["steps"] == 4
    feedback = info["feedback"]
    assert feedback.success is None and feedback.score == 0.0
    assert feedback.message.startswith("The task was not completed in 4 steps. Last observations: ")
    assert "The fridge 1 is closed." in feedback.message
    assert feedback.privileged.startswith("Expert plan for this game (traj_data, ") and "cool bread 1 with fridge 1" in feedback.privileged
    assert "Expert plan" not in obs and json.loads(feedback.to_json())["details"]["task_type"] == "cool"


@pytest.mark.parametrize("short", SHORT_NAMES)
def test_expert_plan_wins_for_every_task_type(unseen_env: ALFWorldEnv, short: str) -> None:
    task_id = GAME_PER_TYPE[short]
    _, info = unseen_env.reset(options={"task_id": task_id})
    assert info["task_type"] == short
    plan = unseen_env.expert_plan()
    assert plan, "no expert plan"
    for i, command in enumerate(plan):
        assert command in info["admissible_actions"], f"step {i} {command!r} not admissible"
        obs, reward, terminated, truncated, info = unseen_env.step(command)
        assert obs != "Nothing happens."
        assert terminated == (i == len(plan) - 1) and not truncated
    feedback = info["feedback"]
    assert (reward, feedback.success, feedback.score, info["won"]) == (1.0, True, 1.0, True)
    assert feedback.message == f"Task completed in {len(plan)} steps." and feedback.details["won"]["score"] == 1.0


def test_pick_two_plan_comes_from_the_planner_when_traj_data_cannot_be_translated(unseen_env: ALFWorldEnv) -> None:
    _, info = unseen_env.reset(options={"task_id": GAME_PER_TYPE["pick_two"]})
    info = unseen_env.step("look")[4]
    assert info["feedback"].details["expert_plan_source"] == "planner"
    unseen_env.reset(options={"task_id": GAME_PER_TYPE["heat"]})
    assert unseen_env.step("look")[4]["feedback"].details["expert_plan_source"] == "traj_data"


def test_time_limit_is_50_steps_and_failure_says_so() -> None:
    env = gymnasium.make("rerest/ALFWorld-v0", task_types="heat")
    assert env.spec is not None and env.spec.max_episode_steps == 50
    assert {g.task_type for g in env.unwrapped.games.values()} == {"pick_heat_then_place_in_recep"}
    env.reset(seed=3)
    for step in range(1, 51):
        obs, reward, terminated, truncated, info = env.step("think: I am lost." if step % 2 else "look")
        assert not terminated and truncated == (step == 50) and reward == 0.0
    feedback = info["feedback"]
    assert feedback.message.startswith("The task was not completed in 50 steps. Last observations: ")
    assert feedback.success is None and feedback.score == 0.0 and feedback.privileged.startswith("Expert plan")
    env.close()


def test_garbage_and_random_actions_never_raise(unseen_env: ALFWorldEnv) -> None:
    rng = random.Random(0)
    unseen_env.action_space.seed(0)
    garbage = ["", " ", "\n\n", "go to", "take", "put  in/on ", "\x00\x01", "é" * 3, "go to fridge 99", "a" * 10_000,
               "think:", "THINK: ok", "open " * 50, "}{][", "look; inventory"]
    unseen_env.reset(options={"task_id": GAME_PER_TYPE["clean"]})
    for action in garbage + [unseen_env.action_space.sample() for _ in range(20)]:
        obs, reward, terminated, truncated, info = unseen_env.step(action)
        assert isinstance(obs, str) and reward == 0.0 and not terminated
    for _ in range(25):  # a random walk over admissible commands
        obs, reward, terminated, truncated, info = unseen_env.step(rng.choice(info["admissible_actions"]))
        assert obs != "Nothing happens."
        if terminated:
            break


def test_render_ansi_is_the_transcript() -> None:
    env = ALFWorldEnv(split="valid_unseen", task_types=["cool"], render_mode="ansi")
    env.reset(options={"task_id": COOL_BREAD})
    env.step("look")
    text = env.render()
    assert text is not None and "Your task is to: put a cool bread in countertop." in text and "\n> look\n" in text
    env.close()
    env.close()


def test_translation_does_not_clobber_sys_argv(unseen_env: ALFWorldEnv) -> None:
    argv = list(sys.argv)
    unseen_env.reset(options={"task_id": GAME_PER_TYPE["pick_and_place"]})
    assert sys.argv == argv


def test_two_envs_do_not_share_engine_state() -> None:
    a = ALFWorldEnv(split="valid_unseen", task_types="cool")
    b = ALFWorldEnv(split="valid_unseen", task_types="cool")
    try:
        a.reset(options={"task_id": COOL_BREAD})
        b.reset(options={"task_id": COOL_BREAD})
        a.step("go to fridge 1")
        assert "open fridge 1" in a.step("look")[4]["admissible_actions"]
        assert "open fridge 1" not in b.step("look")[4]["admissible_actions"]
    finally:
        a.close()
        b.close()
