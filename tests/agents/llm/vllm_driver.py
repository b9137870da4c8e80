"""Runs VLLMBackend in .venv-vllm for test_vllm_backend.py: one engine, every call of a job file.

    .venv-vllm/bin/python tests/agents/llm/vllm_driver.py JOB.json RESULT.json

JOB: {"model": DIR, "adapters": {name: dir}, "calls": [{"name", "prompts", "params", "adapter"}]}.
RESULT: {"init_s", "lora_ids", "results": {name: [[completion, ...] per prompt]}, "errors", ...}.
The `__main__` guard is required: vLLM's engine core is a spawned process.
"""

from __future__ import annotations

import json
import sys
import time


def main(job_path: str, result_path: str) -> None:
    from rerest_agents.errors import ModelNotFound
    from rerest_agents.llm import SamplingParams, make_llm
    from rerest_agents.llm.vllm_backend import VLLMBackend

    job = json.load(open(job_path))
    result: dict = {"errors": {}}
    try:  # caller mistakes fail before any engine starts
        VLLMBackend("/nonexistent/model-folder")
    except ModelNotFound as exc:
        result["errors"]["missing_model"] = str(exc)

    start = time.perf_counter()
    llm = make_llm("vllm", model=job["model"], max_model_len=1024, max_lora_rank=16, seed=0)
    result["init_s"] = time.perf_counter() - start
    result["model_name"] = llm.model_name

    for name, path in job["adapters"].items():
        llm.add_adapter(name, path)
    first = next(iter(job["adapters"]))
    llm.add_adapter(first, job["adapters"][first])  # same name, same folder: keeps its id
    result["lora_ids"] = dict(llm._lora_ids)
    try:
        llm.add_adapter("broken", job["model"])  # a model folder, not an adapter
    except ModelNotFound as exc:
        result["errors"]["not_an_adapter"] = str(exc)

    result["results"], result["seconds"] = {}, {}
    for call in job["calls"]:
        start = time.perf_counter()
        out = llm.generate(call["prompts"], SamplingParams(**call["params"]), adapter=call.get("adapter"))
        result["seconds"][call["name"]] = time.perf_counter() - start
        result["results"][call["name"]] = [[{"text": c.text, "finish_reason": c.finish_reason,
                                             "num_tokens": c.num_tokens} for c in row] for row in out]
    start = time.perf_counter()
    llm.close()
    llm.close()
    result["close_s"] = time.perf_counter() - start
    json.dump(result, open(result_path, "w"), indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
