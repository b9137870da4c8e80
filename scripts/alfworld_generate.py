"""Generate new solvable ALFWorld games offline, as a json_2.1.1-style split.

    python scripts/alfworld_generate.py --out data/alfworld_gen --n 600            # 100 of each task type
    python scripts/alfworld_generate.py --out data/alfworld_gen --n 60 --task-types heat,cool --seed 1
    python scripts/alfworld_generate.py --out data/alfworld_gen --n 12 --planner --check

Games go to `<out>/json_2.1.1/<split>/<task>-<Obj>-None-<Recep>-<scene>/trial_G<seed>/` with
`game.tw-pddl`, `traj_data.json` and `initial_state.pddl`, and play with
`gymnasium.make("rerest/ALFWorld-v0", split="<out>/json_2.1.1/<split>")` (or `data_dir=<out>,
split="<split>"` for an official split name). Re-running with a larger `--n` keeps the games already
written (game i depends only on --seed and i). The scenes of `valid_unseen` are left out unless
`--scenes` names them. How generated games differ from the official ones: README.md, "ALFWorld".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rerest_envs.alfworld.check import check_split
from rerest_envs.alfworld.generator import GenerationError, generate_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to hold json_2.1.1/<split>/")
    parser.add_argument("--n", type=int, default=60, help="number of games (task types in turn)")
    parser.add_argument("--split", default="train", help="split folder name (default train)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole split")
    parser.add_argument("--task-types", default=None, help="comma-separated task types (default: all six)")
    parser.add_argument("--scenes", default=None, help="comma-separated floor plan numbers (default: all but valid_unseen's)")
    parser.add_argument("--planner", action="store_true", help="let fast-downward find each walkthrough (slow on kitchens)")
    parser.add_argument("--check", action="store_true", help="afterwards, play every game's walkthrough in the env")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("--n must be at least 1")
    scenes = [int(s) for s in args.scenes.split(",")] if args.scenes else None
    start = time.perf_counter()
    try:
        for i, trial in enumerate(generate_split(args.out, args.n, seed=args.seed, split=args.split,
                                                 task_types=args.task_types, scenes=scenes, planner=args.planner), 1):
            print(f"[{i}/{args.n}] {trial.parent.name}/{trial.name}  ({time.perf_counter() - start:.0f} s)", flush=True)
    except (GenerationError, ValueError) as e:
        print(f"alfworld_generate: {e}", file=sys.stderr)
        return 1
    split_dir = args.out / "json_2.1.1" / args.split
    print(f"wrote {args.n} games under {split_dir}")
    if args.check:
        results = check_split(str(split_dir))
        failed = [r for r in results if not r.won]
        print(f"check: {len(results) - len(failed)} of {len(results)} games won by their walkthrough")
        for r in failed:
            print(f"  {r.task_id}: {r.error}")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
