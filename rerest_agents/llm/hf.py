"""`hf`: transformers (+ peft for LoRA adapters) on CPU or GPU.

Default model: the embedded gemma-3-270m (see `embedded.py`). Two generation paths:
  * several prompts, n = 1: left-padded batches of `batch_size` prompts;
  * n > 1 (Re-ReST's k samples): each prompt is run through the model once, its KV cache is copied
    n times, and the continuations are decoded as one batch, so k samples pay one prefill instead of
    k (transformers' `num_return_sequences` would repeat the prompt k times). Several prompts share
    one left-padded prefill and one decode batch while `prompts x n <= batch_size`: on a CPU a
    decode step of 16 rows costs little more than one of 4, so the more rows per step, the better.
On a CPU the output layer is computed and the tokens are drawn the way `cpu_decode.py` explains
(k=8 samples: 4.7x the tokens/s of 8 one-at-a-time calls, `benchmarks/llm_k_samples.py`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rerest_agents.errors import DependencyNotInstalled, ModelNotFound
from rerest_agents.llm.base import LLM, Completion, SamplingParams, cut_at_stop
from rerest_agents.llm.cpu_decode import InverseCDFSampler, install_rows_first_head
from rerest_agents.llm.embedded import EMBEDDED_MODEL, embedded_model_dir


def _import_torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError:
        raise DependencyNotInstalled('The hf backend needs torch and transformers: pip install "rerest[train]" '
                                     "(CPU: add -c constraints/cpu.txt).") from None
    return torch


class HFBackend(LLM):
    """transformers backend.

    Args:
        model: HF model id or folder; None or `google/gemma-3-270m` means the embedded GGUF model.
        device: `cpu`, `cuda`, `cuda:1`, or `auto` (cuda when available).
        dtype: `float32`, `bfloat16`, `float16`, or `auto` (float32 on CPU, bfloat16 on GPU).
        batch_size: Most sequences decoded at once.
        threads: torch CPU threads (default: torch's choice).
    """

    backend = "hf"

    def __init__(self, model: str | os.PathLike[str] | None = None, *, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 8, threads: int | None = None) -> None:
        torch = _import_torch()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        if dtype == "auto":
            dtype = "float32" if self.device == "cpu" else "bfloat16"
        self.model_name = str(model or EMBEDDED_MODEL)
        path: str | Path = embedded_model_dir() if self.model_name == EMBEDDED_MODEL else self.model_name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(self.device)
        except OSError as exc:
            raise ModelNotFound(f"Cannot load model {self.model_name!r}: {str(exc).splitlines()[0]} "
                                "(give a local folder, or a hub id on a machine with network access).") from None
        self.model.eval()
        install_rows_first_head(self.model)  # CPU only; see cpu_decode.py
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = batch_size
        self._loaded_adapters: set[str] = set()

    # -- adapters -----------------------------------------------------------------------------------
    def _activate(self, adapter: str | None) -> Any:
        """Return the module to call: the base model, or the peft model with `adapter` active."""
        if adapter is None:
            if self._loaded_adapters:
                return _Disabled(self.model)
            return self.model
        from peft import PeftModel

        if not isinstance(self.model, PeftModel):
            self.model = PeftModel.from_pretrained(self.model, self.adapters[adapter], adapter_name=adapter)
            self.model.eval()
        elif adapter not in self._loaded_adapters:
            self.model.load_adapter(self.adapters[adapter], adapter_name=adapter)
        self._loaded_adapters.add(adapter)
        self.model.set_adapter(adapter)
        return self.model

    # -- generation ---------------------------------------------------------------------------------
    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        torch = _import_torch()
        model = self._activate(adapter)
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode(), _maybe_disabled(model):
            if params.n == 1:
                out: list[list[Completion]] = []
                for start in range(0, len(prompts), self.batch_size):
                    out += [[c] for c in self._batch(prompts[start:start + self.batch_size], params)]
                return out
            per_batch = max(1, self.batch_size // params.n)
            out = []
            for start in range(0, len(prompts), per_batch):
                out += self._samples(prompts[start:start + per_batch], params)
            return out

    def _gen_kwargs(self, params: SamplingParams, prompt_len: int) -> dict[str, Any]:
        from transformers import LogitsProcessorList

        # Sampling is done by our own logits processor (one inverse-CDF draw instead of transformers'
        # multinomial over the whole vocabulary, see cpu_decode.py), so generate() itself is greedy.
        kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens, "pad_token_id": self.tokenizer.pad_token_id,
                                  "do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if params.temperature > 0:
            kwargs["logits_processor"] = LogitsProcessorList([InverseCDFSampler(params.temperature, params.top_p)])
        if params.stop:
            # transformers' own `stop_strings` pre-scans the whole 262k-token vocabulary on every
            # call (seconds); decoding the last few tokens of each row is enough and costs ~nothing.
            from transformers import StoppingCriteriaList

            kwargs["stopping_criteria"] = StoppingCriteriaList([_StopOnStrings(self.tokenizer, params.stop, prompt_len)])
        return kwargs

    def _decode(self, rows: Any, params: SamplingParams) -> list[Completion]:
        eos = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        completions = []
        for row in rows.tolist():
            tokens = [t for t in row if t not in eos]
            ended = len(tokens) < len(row) and any(t in eos for t in row)
            text, stopped = cut_at_stop(self.tokenizer.decode(tokens, skip_special_tokens=True), params.stop)
            reason = "stop" if (stopped or ended or len(tokens) < params.max_tokens) else "length"
            completions.append(Completion(text=text, finish_reason=reason, num_tokens=len(tokens)))
        return completions

    def _batch(self, prompts: list[str], params: SamplingParams) -> list[Completion]:
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        out = self.model.generate(**enc, **self._gen_kwargs(params, enc["input_ids"].shape[1]))
        return self._decode(out[:, enc["input_ids"].shape[1]:], params)

    def _samples(self, prompts: list[str], params: SamplingParams) -> list[list[Completion]]:
        """n samples of each prompt with one (left-padded, shared) prefill; KV cache copied n times."""
        from transformers import DynamicCache

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        per_prompt: list[list[Completion]] = [[] for _ in prompts]
        remaining = params.n
        while remaining:
            n = min(remaining, max(1, self.batch_size // len(prompts)))
            cache = DynamicCache(config=self.model.config)
            if ids.shape[1] > 1:
                # positions as generate() computes them under left padding
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                self.model(input_ids=ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
                           cache=cache, use_cache=True, logits_to_keep=1)
                cache.batch_repeat_interleave(n)
            batch, batch_mask = ids.repeat_interleave(n, dim=0), mask.repeat_interleave(n, dim=0)
            out = self.model.generate(input_ids=batch, attention_mask=batch_mask, cache=cache,
                                      **self._gen_kwargs(params, ids.shape[1]))
            rows = self._decode(out[:, ids.shape[1]:], params)
            for i in range(len(prompts)):
                per_prompt[i] += rows[i * n:(i + 1) * n]
            remaining -= n
        return per_prompt

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]


class _StopOnStrings:
    """Stopping criterion: a row is done once the tail of its generated text contains a stop string."""

    def __init__(self, tokenizer: Any, stops: tuple[str, ...], prompt_len: int) -> None:
        self.tokenizer, self.stops, self.prompt_len = tokenizer, stops, prompt_len
        self.window = max(len(s) for s in stops) + 4  # every token decodes to >= 1 character

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        tails = self.tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in tails], device=input_ids.device)


class _Disabled:
    """Marks that generation must run with every LoRA adapter disabled (the base model)."""

    def __init__(self, model: Any) -> None:
        self.model = model


def _maybe_disabled(model: Any) -> Any:
    import contextlib

    if isinstance(model, _Disabled):
        return model.model.disable_adapter()
    return contextlib.nullcontext()
