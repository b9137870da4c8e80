"""Checking games end to end: load each one in `ALFWorldEnv` and play its expert plan.

Used by the tests over every official game and by `scripts/alfworld_generate.py --check`, and
useful to vet a downloaded or generated split: a game passes when it loads, its expert plan is known
and playing it through `step` wins. Splits are checked in worker processes (each with its own
engine), since loading is CPU-bound (~0.5-1 s per game).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class GameCheck:
    """The outcome of playing one game's expert plan.

    Attributes:
        task_id: The game.
        task_type: Its short task type.
        first_observation: What reset returned.
        won: Whether the expert plan won.
        steps: Steps played.
        plan_source: `traj_data`, `walkthrough`, `planner` or `none`.
        error: Why it failed ("" if it won).
    """

    task_id: str
    task_type: str
    first_observation: str
    won: bool
    steps: int
    plan_source: str
    error: str = ""


def check_games(split: str, task_ids: Sequence[str] | None = None, data_dir: str | None = None) -> list[GameCheck]:
    """Play the expert plan of each game (all of the split by default) in one env."""
    from rerest_envs.alfworld.env import ALFWorldEnv

    env = ALFWorldEnv(split=split, data_dir=data_dir)
    results = []
    try:
        for task_id in task_ids if task_ids is not None else env.task_ids:
            observation, info = env.reset(options={"task_id": task_id})
            plan = env.expert_plan(task_id)
            won, steps, error = False, 0, info.get("engine_error", "")
            for command in plan:
                reply, _, terminated, _, info = env.step(command)
                steps += 1
                if reply == "Nothing happens." and not error:
                    error = f"step {steps} {command!r} was not accepted"
                won = bool(info["won"])
                if terminated:
                    break
            if not won and not error:
                error = "no expert plan" if not plan else f"the expert plan ({len(plan)} steps) did not win"
            source = info["feedback"].details.get("expert_plan_source", "none") if steps else "none"
            results.append(GameCheck(task_id, info["task_type"], observation, won, steps, source, error if not won else ""))
    finally:
        env.close()
    return results


def check_split(split: str, data_dir: str | None = None, *, workers: int | None = None, task_ids: Sequence[str] | None = None) -> list[GameCheck]:
    """`check_games` over a split, spread over `workers` processes (default: CPU count, at most 4)."""
    if task_ids is None:
        from rerest_envs.alfworld.games import find_games

        task_ids = [g.task_id for g in find_games(split, data_dir)]
    workers = max(1, min(workers or min(os.cpu_count() or 1, 4), len(task_ids)))
    if workers == 1:
        return check_games(split, task_ids, data_dir)
    chunks = [list(task_ids[i::workers]) for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(check_games, [split] * workers, chunks, [data_dir] * workers))
    order = {task_id: i for i, task_id in enumerate(task_ids)}
    return sorted((r for part in parts for r in part), key=lambda r: order[r.task_id])
