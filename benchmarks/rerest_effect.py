"""Does reflection help? Re-ReST against self-training and the base model, with intervals (issue 15).

Layout (count + spatial prompts) with the embedded gemma-3-270m on the CPU. For each seed, a whole
`rerest run` (the CPU preset plus `--set` overrides) with its own training prompts (the train
split's generator seed = the seed) and sampling seed, evaluated greedy on the same held-out test
prompts (the test split: object sets disjoint from every train prompt). Prints per seed and pooled:
success with its 95% interval (Wilson per seed, a bootstrap stratified by seed when pooled) and
the paired differences self-training - base, Re-ReST - self-training, Re-ReST - base (and DPO -
self-training with `--set eval.dpo=true`), each a paired bootstrap over the tasks both evaluated.

Settings are chosen on the validation split (`--split val`: train-split prompts of another
generator seed, never a test prompt), then the test run uses them unchanged.

    python benchmarks/rerest_effect.py                                   # 3 seeds x 500 test prompts
    python benchmarks/rerest_effect.py --split val --test 200 --seeds 0  # try a setting on validation
    python benchmarks/rerest_effect.py --set reflect_with_trained=true --out runs/effect-trained
    python benchmarks/rerest_effect.py --split val --seeds 0 --set trained_few_shot=false --reuse-from runs/effect-val

Killed, it resumes (each seed is a resumable run directory under --out). The base model's greedy
test episodes do not depend on the seed, so they are evaluated once and shared. Results:
OUT/effect.jsonl (one line per seed and variant, plus the pooled lines) and OUT/effect.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rerest_agents.cli import _parse_value  # noqa: E402
from rerest_agents.pipeline import Pipeline, load_config  # noqa: E402
from rerest_agents.pipeline.rundir import RunDir  # noqa: E402
from rerest_agents.stats import pooled_mean, pooled_paired_difference, wilson  # noqa: E402

#: Generator seed of the validation prompts (train split, so never a test object set).
VAL_GENERATOR_SEED = 7919
COMPARISONS = (("selftrain", "base"), ("rerest", "selftrain"), ("rerest", "base"), ("dpo", "selftrain"))
NAMES = {"base": "base", "selftrain": "self-training", "rerest": "Re-ReST", "dpo": "DPO"}


def seed_config(seed: int, args: argparse.Namespace, overrides: dict):
    eval_kwargs = ({"prompt_set": "generated-count-spatial", "split": "test", "steps": 1, "num_prompts": args.test}
                   if args.split == "test" else
                   {"prompt_set": "generated-count-spatial", "split": "train", "steps": 1, "num_prompts": args.test,
                    "generator_seed": VAL_GENERATOR_SEED})
    settings = {"seed": seed, "eval.num_tasks": args.test, "test_env_kwargs": eval_kwargs,
                "train_env_kwargs": {"prompt_set": "generated-count-spatial", "split": "train", "steps": 1, "generator_seed": seed}}
    settings.update(overrides)
    return load_config(args.config, settings)


def copy_stage(source: Path, run_dir: Path, stage: str, records: str, why: str) -> None:
    """Take a finished stage's records from another run directory instead of playing them again."""
    ledger, origin = RunDir(run_dir), RunDir(source)
    if ledger.done(stage) or not origin.done(stage) or not origin.records(records).exists():
        return
    shutil.copy(origin.records(records), ledger.records(records))
    ledger.finish(stage, ledger.start(stage), note=f"copied from {source}: {why}")


#: What `--reuse` may name: stage -> (records file, adapter folder), each copied when the source finished it.
REUSABLE = {"sample": ("sampled", None), "reflect": ("repaired", None), "train_reflector": (None, "reflector"),
            "eval_base": ("eval-base", None), "train_agent_selftrain": (None, "agent-selftrain"),
            "eval_selftrain": ("eval-selftrain", None)}


def reuse_stages(source: Path, run_dir: Path, stages: list[str]) -> None:
    """Copy the named finished stages (records or trained adapter) of `source` into `run_dir`."""
    for stage in stages:
        if stage not in REUSABLE:
            raise SystemExit(f"--reuse: unknown stage {stage!r}; choose from {', '.join(REUSABLE)}")
        records, adapter = REUSABLE[stage]
        if records:
            copy_stage(source, run_dir, stage, records, "--reuse-from (the settings it depends on are the same)")
        elif RunDir(source).done(stage) and (source / "adapters" / adapter).exists() and not RunDir(run_dir).done(stage):
            shutil.copytree(source / "adapters" / adapter, run_dir / "adapters" / adapter, dirs_exist_ok=True)
            ledger = RunDir(run_dir)
            ledger.finish(stage, ledger.start(stage), note=f"copied from {source}: --reuse-from")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=None, help="base YAML config (default: the CPU preset)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--test", type=int, default=500, help="held-out prompts evaluated per variant")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--set", dest="set_", action="append", default=[], help="section.key=value, as rerest run --set")
    parser.add_argument("--out", default="runs/effect")
    parser.add_argument("--reuse-from", default=None, help="effect output dir whose samples, repairs, trained reflector "
                        "and base episodes to reuse (only when sample.*, reflect.*, few_shot, train.*, the seeds and the "
                        "model are the same: an A/B of how the agent is trained)")
    parser.add_argument("--reuse", default="sample,reflect,train_reflector,eval_base",
                        help="stages --reuse-from copies (comma list): only those whose settings are unchanged, e.g. "
                        "'sample,eval_base' when only reflect.* changes, plus 'train_agent_selftrain,eval_selftrain' "
                        "(self-training does not depend on reflect.*)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    overrides = {k: _parse_value(v) for k, v in (item.split("=", 1) for item in args.set_)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]

    from rerest_agents.llm import make_llm

    first_cfg = seed_config(seeds[0], args, overrides)
    llm = make_llm(first_cfg.model.backend, **({"model": first_cfg.model.name} if first_cfg.model.name else {}), **first_cfg.model.kwargs)
    started, load = time.time(), os.getloadavg()[0]
    results = {}
    for seed in seeds:
        run_dir = out / f"seed-{seed}"
        cfg = seed_config(seed, args, overrides)
        if seed != seeds[0]:
            copy_stage(out / f"seed-{seeds[0]}", run_dir, "eval_base", "eval-base", "greedy base episodes do not depend on the seed")
        if args.reuse_from:  # an A/B: take the stages the two settings share from the earlier run
            reuse_stages(Path(args.reuse_from) / f"seed-{seed}", run_dir, args.reuse.split(","))
        print(f"[effect] seed {seed}: {run_dir}", flush=True)
        t0 = time.time()
        results[seed] = Pipeline(cfg, run_dir, llm=llm, progress=not args.quiet).run()
        print(f"[effect] seed {seed} done in {(time.time() - t0) / 60:.1f} min", flush=True)
    report(results, args, out, time.time() - started, load)


def report(results: dict, args: argparse.Namespace, out: Path, seconds: float, load: float) -> None:
    variants = [v for v in NAMES if all(v in r.task_success for r in results.values())]
    lines, rows = [], []
    header = f"| seed | {' | '.join(NAMES[v] for v in variants)} | D_M | D_R |"
    lines += [f"Layout count+spatial, gemma-3-270m, {args.split} split, {args.test} prompts per variant, seeds {args.seeds}; "
              f"{seconds / 60:.0f} min wall (load at start {load:.1f}); overrides {args.set_ or 'none'}", "",
              header, "|" + "---|" * (len(variants) + 3)]
    for seed, r in results.items():
        cells = [wilson(round(sum(r.task_success[v].values())), len(r.task_success[v])) for v in variants]
        d_m, d_r = r.sizes.get("agent_dm", 0), r.sizes.get("agent_dmdr", 0) - r.sizes.get("agent_dm", 0)
        lines.append(f"| {seed} | {' | '.join(c.text() for c in cells)} | {d_m} | {d_r} |")
        for v, c in zip(variants, cells):
            rows.append({"seed": seed, "variant": v, "success": c.estimate, "ci": [c.low, c.high], "n": c.n, "d_m": d_m, "d_r": d_r})
        for a, b in COMPARISONS:
            if a in variants and b in variants:
                d = r.difference(a, b)
                rows.append({"seed": seed, "difference": f"{a}-{b}", "estimate": d.estimate, "ci": [d.low, d.high], "n": d.n, "verdict": d.verdict})
    pooled = [pooled_mean([list(r.task_success[v].values()) for r in results.values()]) for v in variants]
    lines.append(f"| pooled | {' | '.join(p.text() for p in pooled)} | | |")
    for v, p in zip(variants, pooled):
        rows.append({"seed": "pooled", "variant": v, "success": p.estimate, "ci": [p.low, p.high], "n": p.n})
    lines += ["", "| paired difference (pooled over seeds) | estimate [95% CI] (n) |", "|---|---|"]
    for a, b in COMPARISONS:
        if a in variants and b in variants:
            d = pooled_paired_difference([(r.task_success[a], r.task_success[b]) for r in results.values()])
            per_seed = ", ".join(f"{r.difference(a, b).estimate:+.3f}" for r in results.values())
            lines.append(f"| {NAMES[a]} - {NAMES[b]} | {d.text()} (per seed: {per_seed}) |")
            rows.append({"seed": "pooled", "difference": f"{a}-{b}", "estimate": d.estimate, "ci": [d.low, d.high], "n": d.n, "verdict": d.verdict})
    text = "\n".join(lines)
    print("\n" + text)
    (out / "effect.md").write_text(text + "\n", encoding="utf-8")
    with (out / "effect.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"\n{out / 'effect.md'}, {out / 'effect.jsonl'}")


if __name__ == "__main__":
    main()
