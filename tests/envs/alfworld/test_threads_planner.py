"""Issue 16 for ALFWorld: `sys.argv` under threads, and the planner fallback kept out of `reset`."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from rerest_envs.alfworld import ALFWorldEnv, GameEngine, GameError, PlanJob, find_games, to_old_grammar
from rerest_envs.alfworld import engine as engine_module

from .conftest import GAME_PER_TYPE
from .test_engine import _game, _unsolvable


def test_sys_argv_is_not_taken_from_a_translation_in_progress_on_another_thread() -> None:
    """The interleaving of the issue, made deterministic: while thread A translates (engine lock held,
    `sys.argv` rebound by fast-downward), thread B starts a load. B must not save A's argv and put it back."""
    original_obj, original = sys.argv, list(sys.argv)
    game = to_old_grammar(_game(GAME_PER_TYPE["cool"]))
    engine = GameEngine()
    errors: list[BaseException] = []

    def load() -> None:
        try:
            engine.load(game, "B")
            engine.reset()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    try:
        with engine_module._PATCH_LOCK:  # thread A, mid-translation
            sys.argv = ["translate.py", "domain", "task"]
            b = threading.Thread(target=load)
            b.start()
            time.sleep(0.3)  # B reaches the engine and waits for the lock
            sys.argv = original_obj  # A's translation ends and A puts argv back
        b.join(60)
        assert not errors and not b.is_alive()
        assert sys.argv is original_obj and sys.argv == original
    finally:
        sys.argv = original_obj
        original_obj[:] = original
        engine.close()


def test_sys_argv_survives_engines_on_four_threads() -> None:
    original_obj, original = sys.argv, list(sys.argv)
    games = find_games("valid_unseen")[:12]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        engine = GameEngine()
        try:
            for record in games[offset::4]:
                engine.load(to_old_grammar(json.loads(record.game_file.read_text())), record.task_id)
                assert engine.reset().feedback.startswith("-= Welcome")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            engine.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:1]
    assert sys.argv is original_obj and sys.argv == original


def _planner_split(root: Path, game: dict) -> Path:
    """A split folder with one game whose demonstration cannot be translated (so the planner is asked)."""
    trial = root / "split" / "pick_cool_then_place_in_recep-Bread-None-CounterTop-10" / "trial_1"
    trial.mkdir(parents=True)
    (trial / "game.tw-pddl").write_text(json.dumps({**game, "solvable": True}))
    (trial / "traj_data.json").write_text(json.dumps({"task_type": "pick_cool_then_place_in_recep"}))
    return root / "split"


def test_reset_does_not_wait_for_the_planner_and_a_hopeless_plan_is_bounded(tmp_path: Path) -> None:
    split = _planner_split(tmp_path, _unsolvable(_game(GAME_PER_TYPE["cool"])))
    env = ALFWorldEnv(split=str(split), planner_timeout=8)
    try:
        start = time.monotonic()
        obs, _ = env.reset(seed=0)
        reset_s = time.monotonic() - start
        assert obs.startswith("-= Welcome") and reset_s < 6, reset_s  # the planner would search for minutes
        (job,) = env._jobs.values()
        obs, _, terminated, _, info = env.step("look")
        waited = time.monotonic() - start
        assert info["feedback"].details["expert_plan_source"] == "none" and not terminated
        assert 7 < waited < 20, waited  # the planner_timeout, counted from the reset
        with pytest.raises(ProcessLookupError):  # its process group is gone
            os.killpg(job._proc.pid, 0)
    finally:
        env.close()


def test_planner_child_from_a_threaded_process_finds_the_plan() -> None:
    game = to_old_grammar(_game(GAME_PER_TYPE["pick_two"]))
    results: list[list[str] | BaseException] = []

    def plan() -> None:
        try:
            results.append(PlanJob(game, name="pick_two", timeout=120).result())
        except GameError as e:
            results.append(e)

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert len(results) == 2 and results[0] == results[1]
    assert isinstance(results[0], list) and results[0][-1].startswith("put toiletpaper")
