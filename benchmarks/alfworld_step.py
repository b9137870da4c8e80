"""Reset and step time of `rerest/ALFWorld-v0` against the alfworld/TextWorld engine used directly.

    .venv/bin/python benchmarks/alfworld_step.py [--games 8] [--resets 3] [--split valid_unseen]

Both sides play the same games in the same process, interleaved game by game so that load from
other processes hits both alike. The engine side is what alfworld's own env wraps:
`AlfredDemangler(PddlEnv(EnvInfos(won=True, admissible_commands=True)))`, loaded once per game, then
`reset()` and `step(command)`. Our side is `gymnasium.make("rerest/ALFWorld-v0")` (TimeLimit,
order enforcing and checker wrappers included) with `reset(options={"task_id": ...})` and `step`.
Commands are each game's expert plan. A third side, `GameEngine` (our engine wrapper with its
caches, no gymnasium), separates what the wrapper costs from what the caches save. Printed: mean
seconds per reset and per step on each side, the ratio ours / engine and our overhead in percent
(target: <= 5 %), and the gymnasium layer's own overhead (ours / GameEngine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import gymnasium

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.alfworld.engine import GameEngine
from rerest_envs.alfworld.grammar import to_old_grammar


def engine_side(game_file: str) -> Any:
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler
    from textworld.envs import PddlEnv

    env = AlfredDemangler(PddlEnv(textworld.EnvInfos(won=True, admissible_commands=True)))
    with open(game_file, encoding="utf-8") as f:
        env.load(to_old_grammar(json.load(f)))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=8, help="games to play (spread over the split)")
    parser.add_argument("--resets", type=int, default=3, help="timed resets per game and side (after a first, untimed one)")
    parser.add_argument("--split", default="valid_unseen")
    args = parser.parse_args()

    ours = gymnasium.make("rerest/ALFWorld-v0", split=args.split)
    games = ours.unwrapped.games
    ids = list(games)[:: max(1, len(games) // args.games)][: args.games]
    times: dict[str, dict[str, list[float]]] = {side: {"reset": [], "step": []} for side in ("engine", "cached", "ours")}
    cached = GameEngine()
    for task_id in ids:
        ours.reset(options={"task_id": task_id})  # first reset loads the game (not timed: both sides load once)
        plan = ours.unwrapped.expert_plan(task_id)
        direct = engine_side(str(games[task_id].game_file))
        direct.reset()
        with open(games[task_id].game_file, encoding="utf-8") as f:
            cached.load(to_old_grammar(json.load(f)), task_id)
        cached.reset()
        for _ in range(args.resets):
            start = time.perf_counter()
            direct.reset()
            times["engine"]["reset"].append(time.perf_counter() - start)
            start = time.perf_counter()
            cached.reset()
            times["cached"]["reset"].append(time.perf_counter() - start)
            start = time.perf_counter()
            ours.reset(options={"task_id": task_id})
            times["ours"]["reset"].append(time.perf_counter() - start)
        won = {"engine": False, "ours": False}
        for command in plan:
            start = time.perf_counter()
            state, _, _ = direct.step(command)
            times["engine"]["step"].append(time.perf_counter() - start)
            won["engine"] = bool(state["won"])
            start = time.perf_counter()
            cached.step(command)
            times["cached"]["step"].append(time.perf_counter() - start)
            start = time.perf_counter()
            _, _, terminated, _, info = ours.step(command)
            times["ours"]["step"].append(time.perf_counter() - start)
            won["ours"] = bool(info["won"])
        direct.close()
        print(f"{task_id}: {len(plan)} steps, won engine={won['engine']} ours={won['ours']}", flush=True)
    ours.close()
    cached.close()
    print(f"\n{len(ids)} games of {args.split}; mean seconds (median in brackets)")
    for what in ("reset", "step"):
        mean = {side: statistics.mean(times[side][what]) for side in times}
        median = {side: statistics.median(times[side][what]) for side in times}
        print(f"{what:5s}  engine {mean['engine']:.4f} ({median['engine']:.4f})  GameEngine {mean['cached']:.4f} "
              f"({median['cached']:.4f})  ours {mean['ours']:.4f} ({median['ours']:.4f})  "
              f"ours/engine {mean['ours'] / mean['engine']:.3f}  overhead {100 * (mean['ours'] / mean['engine'] - 1):+.1f} %  "
              f"gymnasium layer {100 * (mean['ours'] / mean['cached'] - 1):+.1f} %  (n={len(times['ours'][what])})")


if __name__ == "__main__":
    main()
