"""Throughput of k-sample generation (Re-ReST's sampling step) against naive one-at-a-time calls.

Same model, prompt and sampling settings, in the same process:
  naive      k separate `generate([prompt], n=1)` calls (k prefills, batch 1 decoding)
  k-samples  one `generate([prompt], n=k)` call (the hf backend prefills once, copies the KV cache
             k times and decodes the k continuations as one batch)
Prints generated tokens per second and the ratio. Target (issue 4): >= 4x at k=8 on the CPU.

    python benchmarks/llm_k_samples.py                    # embedded gemma-3-270m, k=8, 64 tokens
    python benchmarks/llm_k_samples.py --k 4 --max-tokens 32
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rerest_agents.agent import template_for  # noqa: E402
from rerest_agents.llm import SamplingParams, make_llm  # noqa: E402

TASK = ("You are an expert Python programmer, and here is your task: Write a function to find the shared elements from "
        "the given two lists.\nYour code should pass these tests:\n\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) "
        "== set((4, 5))\n\nAnswer with the complete Python function in a ```python code block.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--backend", default="hf")
    args = parser.parse_args()
    llm = make_llm(args.backend)
    prompt = template_for("rerest/MBPP-v0").prompt(TASK)
    print(f"# prompt: {len(llm.tokenizer(prompt)['input_ids']) if hasattr(llm, 'tokenizer') else '?'} tokens, k={args.k}, "
          f"max_tokens={args.max_tokens}, backend={args.backend}")
    # min_tokens-like fairness: no stop strings, so both paths generate the same number of tokens.
    params = SamplingParams(temperature=1.0, max_tokens=args.max_tokens, seed=0)
    llm.generate([prompt], params.with_(max_tokens=4))  # warm-up

    start = time.perf_counter()
    naive = [llm.generate([prompt], params.with_(seed=i))[0][0] for i in range(args.k)]
    naive_s = time.perf_counter() - start
    naive_tokens = sum(c.num_tokens for c in naive)

    start = time.perf_counter()
    batched = llm.generate([prompt], params.with_(n=args.k))[0]
    batched_s = time.perf_counter() - start
    batched_tokens = sum(c.num_tokens for c in batched)

    naive_rate, batched_rate = naive_tokens / naive_s, batched_tokens / batched_s
    print(f"naive      {naive_tokens:5d} tokens  {naive_s:7.1f} s  {naive_rate:6.2f} tok/s")
    print(f"k-samples  {batched_tokens:5d} tokens  {batched_s:7.1f} s  {batched_rate:6.2f} tok/s")
    ratio = batched_rate / naive_rate
    print(f"ratio k-samples / naive: {ratio:.1f}x  [>= 4x] {'ok' if ratio >= 4 else 'MISSED'}")


if __name__ == "__main__":
    main()
