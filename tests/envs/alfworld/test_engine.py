"""Crash containment: bad PDDL (SystemExit in fast-downward), unsolvable goals, bad games in a split."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from rerest_envs.alfworld import ALFWorldEnv, GameEngine, GameError, find_games, to_old_grammar
from rerest_envs.alfworld.planner import plan_game

from .conftest import GAME_PER_TYPE

UNSOLVABLE_GOAL = "(:goal (exists (?o - object) (and (objectType ?o BreadType) (isHot ?o) (isCool ?o)))))"


def _game(task_id: str) -> dict:
    record = {g.task_id: g for g in find_games("valid_unseen")}[task_id]
    return json.loads(record.game_file.read_text())


def _unsolvable(game: dict) -> dict:
    problem = game["pddl_problem"]
    return {**game, "pddl_problem": problem[: problem.index("(:goal")] + UNSOLVABLE_GOAL}


def test_bad_pddl_raises_one_line_game_error_and_the_engine_goes_on() -> None:
    game = _game(GAME_PER_TYPE["cool"])
    bad = {**game, "pddl_problem": game["pddl_problem"].replace("(:objects", "(:objects\n agent1 - agent", 1)}
    engine = GameEngine()
    argv = list(sys.argv)
    try:
        with pytest.raises(GameError, match=r"^Loading ALFWorld game bad failed: SystemExit: error: duplicate object 'agent1'") as caught:
            engine.load(bad, "bad")
        assert "\n" not in str(caught.value) and sys.argv == argv
        with pytest.raises(GameError, match="No ALFWorld game is loaded"):
            engine.reset()
        with pytest.raises(GameError, match="lacks"):
            engine.load({"pddl_domain": game["pddl_domain"]}, "empty")
        engine.load(game, "good")  # the same engine still plays good games
        assert engine.reset().feedback.endswith("put a cool bread in countertop.")
        assert engine.step("go to fridge 1").changed
    finally:
        engine.close()
        engine.close()
    with pytest.raises(GameError, match="closed"):
        engine.load(game, "after close")


def test_unsolvable_goal_gives_no_plan_instead_of_a_crash() -> None:
    game = _unsolvable(_game(GAME_PER_TYPE["cool"]))
    try:  # the in-process planner would search this kitchen for minutes and gigabytes
        assert plan_game(game, name="unsolvable", timeout=8) == []
    except GameError as e:
        assert "\n" not in str(e) and "unsolvable" in str(e)
    engine = GameEngine()
    try:
        engine.load(game, "unsolvable")
        assert not engine.reset().won
        assert engine.step("go to fridge 1").changed  # the game itself is still playable
    finally:
        engine.close()


def test_planner_in_a_child_process_solves_a_game() -> None:
    plan = plan_game(_game(GAME_PER_TYPE["look_at_obj_in_light"]))
    assert plan and plan[-1] == "use desklamp 1"


def test_old_grammar_conversion_of_alfworld_04_logic() -> None:
    import alfworld

    folder = Path(alfworld.__file__).parent / "data"
    new = {"pddl_domain": (folder / "alfred.pddl").read_text(), "grammar": (folder / "alfred.twl2").read_text()}
    old = to_old_grammar(new)
    assert 'template :: "put {o} in/on {r}"' in old["grammar"] and "move {o} to {r}" not in old["grammar"]
    assert "action help" not in old["grammar"] and "(:action help" not in old["pddl_domain"]
    assert to_old_grammar(old) is old  # json_2.1.1 games are left alone
    assert to_old_grammar({**new, "walkthrough": ["go to desk 1", "move pen 1 to desk 1"]})["walkthrough"] == [
        "go to desk 1", "put pen 1 in/on desk 1"]
    game = _game(GAME_PER_TYPE["heat"])
    assert to_old_grammar(game) is game


def test_a_bad_game_in_a_split_is_an_observation_not_a_crash(tmp_path: Path) -> None:
    records = {g.task_id: g for g in find_games("valid_unseen")}
    for key in ("cool", "heat"):
        src = records[GAME_PER_TYPE[key]].game_file.parent
        shutil.copytree(src, tmp_path / GAME_PER_TYPE[key], ignore=shutil.ignore_patterns("*.pddl", "receps.json"))
    bad_file = tmp_path / GAME_PER_TYPE["cool"] / "game.tw-pddl"
    game = json.loads(bad_file.read_text())
    bad_file.write_text(json.dumps({**game, "pddl_problem": game["pddl_problem"].replace("(:objects", "(:objects\n agent1 - agent", 1)}))
    env = ALFWorldEnv(split=str(tmp_path))
    try:
        assert sorted(env.task_ids) == sorted([GAME_PER_TYPE["cool"], GAME_PER_TYPE["heat"]])
        for _ in range(2):  # the second time the failure is remembered, not retried
            obs, info = env.reset(options={"task_id": GAME_PER_TYPE["cool"]})
            assert obs.startswith("This game could not be started (") and info["engine_error"]
            assert info["admissible_actions"] == []
            obs, reward, terminated, truncated, info = env.step("go to fridge 1")
            assert terminated and reward == 0.0 and info["feedback"].success is False
            assert info["feedback"].message.startswith("The game engine failed")
        obs, info = env.reset(options={"task_id": GAME_PER_TYPE["heat"]})
        assert "engine_error" not in info
        for command in env.expert_plan():
            *_, info = env.step(command)
        assert info["won"]
    finally:
        env.close()
