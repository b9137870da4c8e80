"""Generated games: every task type, official file layout, won by its walkthrough in the env, seeded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rerest_envs.alfworld import TASK_TYPES, ALFWorldEnv, GameEngine, collect_games, short_name
from rerest_envs.alfworld.generator import UNSEEN_SCENES, generate_game, write_game


@pytest.fixture(scope="module")
def engine() -> Iterator[GameEngine]:
    made = GameEngine()
    yield made
    made.close()


@pytest.fixture(scope="module")
def generated_split(tmp_path_factory: pytest.TempPathFactory, engine: GameEngine) -> Path:
    """One generated game per task type, written as json_2.1.1/train."""
    split = tmp_path_factory.mktemp("generated") / "json_2.1.1" / "train"
    for task_type in TASK_TYPES:
        write_game(generate_game(task_type, seed=7, engine=engine), split)
    return split


def test_generated_tree_has_the_official_layout(generated_split: Path) -> None:
    games = collect_games(generated_split)  # alfworld's own filter: traj_data, solvable, task type
    assert sorted(g.task_type for g in games) == sorted(TASK_TYPES)
    for g in games:
        game = json.loads(g.game_file.read_text())
        assert set(game) == {"pddl_domain", "grammar", "pddl_problem", "solvable", "walkthrough"} and game["solvable"] is True
        assert 'template :: "put {o} in/on {r}"' in game["grammar"] and "action help" not in game["grammar"]
        assert "(:action help" not in game["pddl_domain"] and "(:domain alfred)" in game["pddl_problem"]
        traj = json.loads(g.traj_file.read_text())
        assert traj["task_type"] == g.task_type and traj["scene"]["scene_num"] not in UNSEEN_SCENES
        assert (g.game_file.parent / "initial_state.pddl").read_text() == game["pddl_problem"]
        assert g.task_id.startswith(f"{g.task_type}-{traj['pddl_params']['object_target']}-None-")


def test_every_generated_game_is_won_by_its_walkthrough_in_the_env(generated_split: Path) -> None:
    env = ALFWorldEnv(split=str(generated_split))
    try:
        for task_id in env.task_ids:
            obs, info = env.reset(options={"task_id": task_id})
            assert obs.startswith("-= Welcome to TextWorld, ALFRED! =-") and f"Your task is to: {info['task']}" in obs
            plan = env.expert_plan()
            assert 2 <= len(plan) <= 30
            for command in plan:
                assert command in info["admissible_actions"], (task_id, command)
                obs, reward, terminated, _, info = env.step(command)
            assert terminated and reward == 1.0 and info["feedback"].success, task_id
            assert info["feedback"].details["expert_plan_source"] == "walkthrough"
            assert info["task_type"] == short_name(task_id.split("-")[0])
    finally:
        env.close()


def test_same_seed_same_game_other_seed_other_game(engine: GameEngine) -> None:
    a = generate_game("pick_and_place", seed=11, scenes=[301, 302], engine=engine)
    b = generate_game("pick_and_place", seed=11, scenes=[301, 302], engine=engine)
    c = generate_game("pick_and_place", seed=12, scenes=[301, 302], engine=engine)
    assert a.game == b.game and a.folder == b.folder
    assert c.game["pddl_problem"] != a.game["pddl_problem"] and a.floor_plan in (301, 302)


@pytest.mark.slow
def test_planner_validation_finds_a_winning_plan(engine: GameEngine) -> None:
    generated = generate_game("look_at_obj_in_light", seed=3, scenes=[301, 303, 305], planner=True, engine=engine)
    assert generated.game["walkthrough"][-1].startswith("use ")


def test_generated_logic_is_the_official_json_2_1_1_logic() -> None:
    import re

    from rerest_envs.alfworld import find_games
    from rerest_envs.alfworld.generator.pddl import package_logic

    domain, grammar = package_logic()  # alfworld 0.4's files, brought back to the old grammar
    official = json.loads(find_games("valid_unseen")[0].game_file.read_text())
    official_grammar = re.sub(r'"rhs": "Your task is to: [^"]*"', '"rhs": "Your task is to: UNKNOWN GOAL."', official["grammar"])
    assert domain.split() == official["pddl_domain"].split()
    assert grammar.split() == official_grammar.split()


def test_alfworld_itself_plays_the_generated_split(generated_split: Path) -> None:
    import alfworld
    from alfworld.agents.environment.alfred_tw_env import AlfredTWEnv

    logic = Path(alfworld.__file__).parent / "data"
    config = {"dataset": {"data_path": str(generated_split), "eval_id_data_path": "", "eval_ood_data_path": "",
                          "num_train_games": -1, "num_eval_games": -1},
              "logic": {"domain": str(logic / "alfred.pddl"), "grammar": str(logic / "alfred.twl2")},
              "env": {"type": "AlfredTWEnv", "regen_game_files": False, "domain_randomization": False, "task_types": [1, 2, 3, 4, 5, 6],
                      "expert_timeout_steps": 150, "expert_type": "handcoded", "goal_desc_human_anns_prob": 0.0},
              "general": {"training_method": "dagger"}, "dagger": {"training": {"max_nb_steps_per_episode": 50}}}
    alfred = AlfredTWEnv(config, train_eval="train")
    assert len(alfred.game_files) == len(TASK_TYPES)  # its own collect_game_files keeps every generated game
    env = alfred.init_env(batch_size=1)
    try:
        obs, info = env.reset()
        assert "Your task is to: " in obs[0] and any(c.startswith("go to ") for c in info["admissible_commands"][0])
    finally:
        env.close()
