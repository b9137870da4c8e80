"""Peak memory and seconds per step of LoRA SFT on gemma-3-270m: our trainer vs plain peft with full logits.

A step is 8 sequences x 512 tokens (384 prompt tokens, 128 supervised completion tokens, the probe's
shape), AdamW, LoRA r=16 on q/k/v/o (TrainConfig's CPU preset).

  ours      `rerest_agents.train.train_sft` (TRL SFTTrainer; micro-batch 4 x 2 accumulation; the LM
            head runs only on the supervised positions, fused with the loss: lm_head_loss.py). Seconds per step from
            the timestamps of train_log.jsonl (logging_steps=1), the first step left out.
  baseline  a plain peft model, `model(input_ids, labels=labels).loss` (full 262k-entry logits at every
            position) + backward + AdamW, micro-batch 2 x 4 accumulation (micro-batch 8 peaked at 23 GB
            in ../shared/research/probes.md §3, too close to this machine's 24 GB), first step left out.

Each variant runs in its own child process so that each peak RSS (ru_maxrss) is its own; the parent
prints both and the ratios. Targets (issue 5): ours <= 8 GB peak and <= 30 s per step.

    python benchmarks/train_step.py                 # 3 steps each
    python benchmarks/train_step.py --steps 4 --only ours
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEQ, SUPERVISED, PER_STEP = 512, 128, 8


def _records(n: int) -> list[dict[str, str]]:
    import random

    rng = random.Random(0)
    words = "the agent looks at the room and counts the chairs near a table then answers with a number".split()
    records = []
    for _ in range(n):
        prompt = " ".join(rng.choice(words) for _ in range(600))  # > 384 tokens: its start is cut
        completion = " " + " ".join(rng.choice(words) for _ in range(200))  # > 127 tokens: its end is cut
        records.append({"prompt": prompt, "completion": completion})
    return records


def _shape_records(tokenizer, records):
    """Cut completions to 127 tokens (+ EOS = 128 supervised) so every sequence is 512 tokens."""
    out = []
    for r in records:
        ids = tokenizer(r["completion"], add_special_tokens=False)["input_ids"][:SUPERVISED - 1]
        out.append({"prompt": r["prompt"], "completion": tokenizer.decode(ids)})
    return out


def run_ours(steps: int) -> dict:
    from transformers import AutoTokenizer

    from rerest_agents.llm.embedded import embedded_model_dir
    from rerest_agents.train import TrainConfig, tokenize_sft, train_sft

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    records = _shape_records(tokenizer, _records(PER_STEP * steps))
    examples = tokenize_sft(records, tokenizer, SEQ)
    shape = (sorted({len(e["input_ids"]) for e in examples}), sorted({sum(x != -100 for x in e["labels"]) for e in examples}))
    with tempfile.TemporaryDirectory() as out:
        train_sft(records, out, TrainConfig(max_steps=steps, epochs=1, max_length=SEQ, save_steps=10_000))
        times = [json.loads(line)["time"] for line in (Path(out) / "train_log.jsonl").read_text().splitlines()
                 if "train/learning_rate" in json.loads(line)]
    per_step = [b - a for a, b in zip(times, times[1:])]
    return {"s_per_step": sum(per_step) / len(per_step), "steps_timed": len(per_step), "shape": shape}


def run_baseline(steps: int, micro: int) -> dict:
    import torch
    from transformers import AutoTokenizer

    from rerest_agents.llm.embedded import embedded_model_dir
    from rerest_agents.train import TrainConfig, load_for_training, tokenize_sft

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    examples = tokenize_sft(_shape_records(tokenizer, _records(PER_STEP * steps)), tokenizer, SEQ)
    model, _ = load_for_training(config=TrainConfig())
    model.train()
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    ids = torch.tensor([e["input_ids"] for e in examples])
    labels = torch.tensor([e["labels"] for e in examples])
    durations = []
    for step in range(steps):
        start = time.perf_counter()
        for m in range(0, PER_STEP, micro):
            rows = slice(step * PER_STEP + m, step * PER_STEP + m + micro)
            loss = model(input_ids=ids[rows], labels=labels[rows]).loss / (PER_STEP // micro)
            loss.backward()
        optim.step()
        optim.zero_grad()
        durations.append(time.perf_counter() - start)
        print(f"baseline step {step}: {durations[-1]:.1f} s", file=sys.stderr, flush=True)
    timed = durations[1:] or durations
    return {"s_per_step": sum(timed) / len(timed), "steps_timed": len(timed), "micro_batch": micro}


def child(variant: str, steps: int, micro: int) -> None:
    import torch

    torch.manual_seed(0)
    result = run_ours(steps) if variant == "ours" else run_baseline(steps, micro)
    result["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    result["threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per variant (the first is not timed)")
    parser.add_argument("--baseline-micro-batch", type=int, default=2)
    parser.add_argument("--only", choices=["ours", "baseline"])
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.steps, args.baseline_micro_batch)
    results = {}
    for variant in [args.only] if args.only else ["ours", "baseline"]:
        proc = subprocess.run([sys.executable, __file__, "--child", variant, "--steps", str(args.steps),
                               "--baseline-micro-batch", str(args.baseline_micro_batch)],
                              stdout=subprocess.PIPE, text=True, check=True)
        results[variant] = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT "))[7:])
        r = results[variant]
        print(f"{variant:9s} peak {r['peak_gb']:.2f} GiB  {r['s_per_step']:.1f} s/step "
              f"({r['s_per_step'] / PER_STEP:.2f} s/sequence, {r['steps_timed']} steps timed)  {r}", flush=True)
    if len(results) == 2:
        ours, base = results["ours"], results["baseline"]
        print(f"baseline / ours: peak x{base['peak_gb'] / ours['peak_gb']:.2f}, "
              f"time per step x{base['s_per_step'] / ours['s_per_step']:.2f} "
              f"(baseline at micro-batch {base['micro_batch']}; micro-batch 8 peaked at 23 GB in probes.md §3)")


if __name__ == "__main__":
    main()
