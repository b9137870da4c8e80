"""The vLLM part of dev/gpu_check.sh, run in its GPU venv: vLLM with two LoRA adapters on the embedded
model, greedy output equal to the hf backend's (base and each adapter).

    .venv-gpu/bin/python dev/gpu_check.py WORK_DIR      # prints one PASS/FAIL line per check, exits 1 on a FAIL

Both backends run the converted gemma-3-270m in float32 on the GPU (bf16 kernels of the two
libraries round differently, so only fp32 can be compared token for token). The adapters are tiny
random PEFT LoRAs (r=4 on q/v, B non-zero), the ones the vLLM-CPU tests use. The `__main__` guard is
required: vLLM's engine core is a spawned process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

PROMPTS = ["The capital of France is", "Question: What is the tallest mountain on Earth?\nAnswer:",
           "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"]
MAX_TOKENS = 24


def main(work: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.* helpers
    import torch

    from rerest_agents.llm import SamplingParams, make_llm
    from rerest_agents.llm.embedded import embedded_model_dir
    from tests.agents.llm.vllm_venv import make_lora_adapters

    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 matmuls in fp32 (the hf reference)
    torch.backends.cudnn.allow_tf32 = False
    failures = 0

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal failures
        failures += not ok
        print(f"gpu_check: {'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)

    start = time.perf_counter()
    model_dir = embedded_model_dir()
    adapters = make_lora_adapters(model_dir, work / "lora")
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.0)
    hf = make_llm("hf", device="cuda", dtype="float32")
    for name, path in adapters.items():
        hf.add_adapter(name, str(path))
    # one prompt per call: left padding changes the numerics a little
    reference = {a: [hf.generate([p], params, adapter=a)[0][0].text for p in PROMPTS] for a in (None, "a1", "a2")}
    hf.close()
    del hf
    torch.cuda.empty_cache()
    print(f"gpu_check: hf reference ({3 * len(PROMPTS)} greedy completions) in {time.perf_counter() - start:.0f} s", flush=True)

    start = time.perf_counter()
    llm = make_llm("vllm", dtype="float32", max_model_len=1024, max_lora_rank=16, gpu_memory_utilization=0.3, seed=0)
    print(f"gpu_check: vLLM engine up in {time.perf_counter() - start:.0f} s", flush=True)
    for name, path in adapters.items():
        llm.add_adapter(name, str(path))
    got = {a: [row[0].text for row in llm.generate(PROMPTS, params, adapter=a)] for a in (None, "a1", "a2")}
    sampled = llm.generate(PROMPTS[:1], SamplingParams(n=4, temperature=1.0, max_tokens=16, seed=1), adapter="a1")[0]
    llm.close()

    for adapter in (None, "a1", "a2"):
        label = adapter or "base"
        same = got[adapter] == reference[adapter]
        detail = "" if same else "; ".join(f"vllm {g!r} vs hf {r!r}" for g, r in zip(got[adapter], reference[adapter]) if g != r)
        check(f"greedy vLLM == hf ({label}, {len(PROMPTS)} prompts x {MAX_TOKENS} tokens)", same, detail[:600])
    check("the two adapters change the output (a1 != base, a2 != base, a1 != a2)",
          got["a1"] != got[None] and got["a2"] != got[None] and got["a1"] != got["a2"])
    check("vLLM samples n=4 with an adapter, not all alike", len(sampled) == 4 and len({c.text for c in sampled}) > 1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/rerest-gpu-check")))
