"""LLM backends behind one batched interface (`LLM.generate(prompts, SamplingParams(n=...))`).

`make_llm("hf")` (transformers + peft; default: the embedded gemma-3-270m), `make_llm("vllm", ...)`
(vLLM offline engine, GPU), `make_llm("openai", base_url=...)` (any OpenAI-compatible server).
Backends are imported on demand, so `import rerest_agents.llm` needs neither torch nor vllm.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from rerest_agents.llm.base import LLM, Completion, SamplingParams, cut_at_stop

#: backend name -> "module:Class"
BACKENDS: dict[str, str] = {
    "hf": "rerest_agents.llm.hf:HFBackend",
    "vllm": "rerest_agents.llm.vllm_backend:VLLMBackend",
    "openai": "rerest_agents.llm.openai_backend:OpenAIBackend",
}


def make_llm(backend: str = "hf", **kwargs: Any) -> LLM:
    """Build the LLM backend `backend` with its keyword arguments."""
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, BACKENDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown LLM backend {backend!r}; choose one of {sorted(BACKENDS)}.{hint}")
    module, cls = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


__all__ = ["BACKENDS", "LLM", "Completion", "SamplingParams", "cut_at_stop", "make_llm"]
