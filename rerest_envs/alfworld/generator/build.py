"""Generating solvable games: scene -> goal -> problem -> validation on the engine -> json_2.1.1-style files.

A game counts as generated only when the real engine loads it, the goal does not hold at the
start, and a walkthrough of at most `MAX_PLAN` commands, replayed from a fresh reset, wins. The
walkthrough is written from the scene (`walkthrough.py`, instant) or found by fast-downward's
planner (`planner=True`, in a child process with limits; slow on kitchens); it becomes the game's `walkthrough` (the expert plan the
env reports). Engine
crashes (bad PDDL -> `SystemExit`, planner errors) are contained by `GameEngine` and only make the
generator try the next random draw.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rerest_envs.alfworld.engine import GameEngine, GameError
from rerest_envs.alfworld.games import DATA_VERSION, GAME_FILE, TRAJ_FILE
from rerest_envs.alfworld.generator.goals import Goal, NoGoal, choose_goal
from rerest_envs.alfworld.generator.pddl import game_data
from rerest_envs.alfworld.generator.scene import UNSEEN_SCENES, build_scene, floor_plans
from rerest_envs.alfworld.generator.walkthrough import walkthrough
from rerest_envs.alfworld.planner import plan_game
from rerest_envs.alfworld.tasks import parse_task_types

#: Longest accepted plan: the paper's agents get 50 steps, and ALFRED's demonstrations are short.
MAX_PLAN = 30
#: Random draws tried per game before giving up.
MAX_ATTEMPTS = 25
GENERATOR_VERSION = 1


class GenerationError(RuntimeError):
    """No solvable game came out of `MAX_ATTEMPTS` draws (e.g. the floor plans given cannot host the task type)."""


@dataclass(frozen=True)
class GeneratedGame:
    """One validated game.

    Attributes:
        task_type: Official task type.
        floor_plan: Scene number.
        seed: The seed it was drawn from (same seed, same game).
        goal: The task.
        game: The `game.tw-pddl` content, with `walkthrough` and `"solvable": true`.
    """

    task_type: str
    floor_plan: int
    seed: int
    goal: Goal
    game: dict[str, Any]

    @property
    def folder(self) -> str:
        """`<task_type>-<Obj>-None-<Recep or Lamp>-<scene>`, as official task folders are named."""
        return f"{self.task_type}-{self.goal.obj}-None-{self.goal.recep or self.goal.toggle}-{self.floor_plan}"

    @property
    def trial(self) -> str:
        return f"trial_G{self.seed:010d}"

    def traj_data(self) -> dict[str, Any]:
        """A `traj_data.json` with the fields the env and alfworld's loader read."""
        return {
            "task_type": self.task_type,
            "task_id": self.trial,
            "pddl_params": {"object_target": self.goal.obj, "parent_target": self.goal.recep, "mrecep_target": "",
                            "toggle_target": self.goal.toggle, "object_sliced": False},
            "scene": {"floor_plan": f"FloorPlan{self.floor_plan}", "scene_num": self.floor_plan, "random_seed": self.seed},
            "plan": {"high_pddl": [], "low_actions": [], "walkthrough": list(self.game["walkthrough"])},
            "turk_annotations": {"anns": [{"task_desc": self.goal.sentence, "high_descs": [], "votes": []}]},
            "rerest_generator": {"version": GENERATOR_VERSION, "seed": self.seed},
        }


def validate(engine: GameEngine, game: dict[str, Any], name: str, plan: Callable[[dict[str, str]], list[str]] | None = None) -> list[str] | None:
    """A winning walkthrough if the game loads, is not won at the start, and the walkthrough wins.

    Args:
        engine: The engine to load the game into.
        game: The `game.tw-pddl` content.
        name: The game's name in error messages.
        plan: Writes the walkthrough from the game's entity names (PDDL id -> name); None asks
            fast-downward's planner in this process (unbounded: prefer `planner.plan_game`).
    """
    try:
        engine.load(game, name)
        if engine.reset().won:
            return None
        commands = engine.plan() if plan is None else plan(engine.entity_names())
        if not commands or len(commands) > MAX_PLAN:
            return None
        engine.reset()
        state = None
        for command in commands:
            state = engine.step(command)
            if not state.changed:
                return None
        return commands if state is not None and state.won else None
    except (GameError, KeyError, IndexError):
        return None


def generate_game(task_type: str, seed: int, *, scenes: Iterable[int] | None = None, planner: bool = False,
                  engine: GameEngine | None = None) -> GeneratedGame:
    """A validated game of `task_type`, determined by `seed`.

    Args:
        task_type: Any spelling `parse_task_types` accepts.
        seed: Seeds the scene, object placement and goal draws.
        scenes: Floor plans to draw from; default: every shipped plan except the `valid_unseen` scenes.
        planner: Let fast-downward find the walkthrough (seconds to minutes per kitchen game) instead
            of writing it from the scene; either way it is replayed on the engine and must win.
        engine: An engine to reuse (one is made and closed otherwise).

    Raises:
        GenerationError: no draw gave a solvable game.
    """
    (task_type,) = parse_task_types([task_type])
    pool = sorted(scenes) if scenes is not None else [n for n in floor_plans() if n not in UNSEEN_SCENES]
    if not pool:
        raise GenerationError("scenes= selects no floor plan; pass numbers from alfworld/gen/layouts (1-30, 201-230, 301-330, 401-430).")
    own = engine is None
    engine = engine or GameEngine()
    rng = random.Random(f"{task_type}:{seed}")
    try:
        for attempt in range(MAX_ATTEMPTS):
            floor_plan = rng.choice(pool)
            scene = build_scene(floor_plan, rng)
            try:
                goal = choose_goal(task_type, scene, rng)
            except NoGoal:
                continue
            name = f"gen_{hashlib.sha1(f'{task_type}:{seed}:{attempt}'.encode()).hexdigest()[:12]}"
            game = game_data(scene, goal, name)
            writer = (lambda _names, g=game, n=name: plan_game(g, name=n)) if planner else functools.partial(walkthrough, scene, goal)
            plan = validate(engine, game, name, writer)
            if plan is not None:
                return GeneratedGame(task_type, floor_plan, seed, goal, {**game, "solvable": True, "walkthrough": plan})
    finally:
        if own:
            engine.close()
    raise GenerationError(f"No solvable {task_type} game in {MAX_ATTEMPTS} draws for seed {seed} from floor plans {pool[:8]}...; "
                          f"try another seed or more scenes.")


def write_game(generated: GeneratedGame, split_dir: Path) -> Path:
    """Write `<split_dir>/<task folder>/<trial>/{game.tw-pddl, traj_data.json, initial_state.pddl}`."""
    trial = Path(split_dir) / generated.folder / generated.trial
    trial.mkdir(parents=True, exist_ok=True)
    (trial / "initial_state.pddl").write_text(generated.game["pddl_problem"], encoding="utf-8")
    (trial / TRAJ_FILE).write_text(json.dumps(generated.traj_data(), indent=2), encoding="utf-8")
    (trial / GAME_FILE).write_text(json.dumps(generated.game), encoding="utf-8")
    return trial


def generate_split(out_dir: Path, n: int, *, seed: int = 0, split: str = "train", task_types: Iterable[str] | str | None = None,
                   scenes: Iterable[int] | None = None, planner: bool = False) -> Iterator[Path]:
    """Write `n` games, task types in turn, into `<out_dir>/json_2.1.1/<split>/`; yields each trial folder.

    Game i of the split is `generate_game(task_types[i % k], seed * 1_000_003 + i)`, so a split is
    reproducible and extending `n` keeps the games already written.
    """
    types = parse_task_types(task_types)
    split_dir = Path(out_dir) / DATA_VERSION / split
    engine = GameEngine()
    try:
        for i in range(n):
            generated = generate_game(types[i % len(types)], seed * 1_000_003 + i, scenes=scenes, planner=planner, engine=engine)
            yield write_game(generated, split_dir)
    finally:
        engine.close()
