"""Env time of one Layout-v0 episode (reset + step), as a ratio against parsing the layout alone.

Target (issue 3): an episode well under 1 ms of env time, so that thousands of samples cost
nothing next to the model. The baseline, measured in the same process on the same answers, is
`parse_layout` alone (the least any scorer must do); the ratio says what checking, explaining and
episode bookkeeping add on top. Answers are the env's reference layouts (success path) and the same
layouts mirrored (failure path: every failed check is explained in words).

    python benchmarks/layout_step.py                        # generated-count-spatial, 2,000 episodes
    python benchmarks/layout_step.py --prompt-set nsr1k-spatial --n 700
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RERST_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))

import gymnasium  # noqa: E402

import rerest_envs  # noqa: E402,F401
from rerest_envs.layout import Box, format_layout, format_objects, parse_layout, reference_layout  # noqa: E402


def best_of(repeats: int, fn: Callable[[], None]) -> float:
    """Smallest wall time of `repeats` runs of `fn` (seconds): the least noisy estimate."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-set", default="generated-count-spatial")
    parser.add_argument("--n", type=int, default=2000, help="episodes per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    env = gymnasium.make("rerest/Layout-v0", prompt_set=args.prompt_set, steps=1, num_prompts=args.n if args.prompt_set.startswith("generated") else None)
    env2 = gymnasium.make("rerest/Layout-v0", prompt_set=args.prompt_set, steps=2, num_prompts=args.n if args.prompt_set.startswith("generated") else None)
    raw, raw2 = env.unwrapped, env2.unwrapped
    ids = list(raw.task_ids)[: args.n]
    good = {i: reference_layout(raw.tasks[i]) for i in ids}
    answers = {i: format_layout(b) for i, b in good.items()}
    mirrored = {i: format_layout([Box(b.phrase, 99 - b.x2, 99 - b.y2, 99 - b.x1, 99 - b.y1) for b in bs]) for i, bs in good.items()}
    objects = {i: format_objects([(b.phrase, sum(c.phrase == b.phrase for c in bs)) for b in {c.phrase: c for c in bs}.values()]) for i, bs in good.items()}
    for i in ids:  # warm the privileged-text cache and the name cache, as a long run would
        raw.reset(options={"task_id": i}), raw.step(answers[i])
        raw2.reset(options={"task_id": i}), raw2.step(objects[i]), raw2.step(answers[i])

    def parse_only() -> None:
        for i in ids:
            parse_layout(answers[i])

    def one_step(table: dict[str, str], target: gymnasium.Env) -> Callable[[], None]:
        def run() -> None:
            for i in ids:
                target.reset(options={"task_id": i})
                target.step(table[i])
        return run

    def two_step() -> None:
        for i in ids:
            raw2.reset(options={"task_id": i})
            raw2.step(objects[i])
            raw2.step(answers[i])

    successes = sum(bool(raw.reset(options={"task_id": i}) and raw.step(answers[i])[4]["feedback"].success) for i in ids)
    failures = sum(not raw.reset(options={"task_id": i}) or not raw.step(mirrored[i])[4]["feedback"].success for i in ids)
    base = best_of(args.repeats, parse_only) / len(ids)
    rows = [("parse_layout only (baseline)", base),
            ("env reset+step, unwrapped, reference layout", best_of(args.repeats, one_step(answers, raw)) / len(ids)),
            ("env reset+step, unwrapped, mirrored layout", best_of(args.repeats, one_step(mirrored, raw)) / len(ids)),
            ("env reset+step+step (two-step), unwrapped", best_of(args.repeats, two_step) / len(ids)),
            ("env reset+step via gymnasium.make wrappers", best_of(args.repeats, one_step(answers, env)) / len(ids))]
    print(f"{args.prompt_set}: {len(ids)} episodes; reference layouts succeed {successes}/{len(ids)}, mirrored fail {failures}/{len(ids)} (mirroring leaves count prompts and next_to correct)")
    print(f"{'measurement':48s} {'us/episode':>11s} {'x baseline':>11s}")
    for name, seconds in rows:
        print(f"{name:48s} {seconds * 1e6:11.1f} {seconds / base:11.1f}")
    worst = max(s for _, s in rows[1:])
    print(f"target < 1000 us of env time per episode: {'met' if worst < 1e-3 else 'MISSED'} (slowest {worst * 1e6:.1f} us)")


if __name__ == "__main__":
    main()
