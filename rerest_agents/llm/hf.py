"""`hf`: transformers (+ peft for LoRA adapters) on CPU or GPU.

Default model: the embedded gemma-3-270m (see `embedded.py`). One generation path for every call:
prompts are tokenized, grouped so that `prompts x n <= batch_size` rows decode together (on a CPU a
decode step of 32 rows costs little more than one of 4), and each group is laid out left-padded.
The prefix the group shares (few-shot instruction and exemplars: 97% of a Layout prompt) comes from
a KV cache computed once and kept across calls per adapter (`prefix_cache.py`); only each row's
own suffix is prefilled, then the cache is copied n times for Re-ReST's k samples (one prefill,
not k), and the rows are decoded as one batch.
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
from rerest_agents.llm.prefix_cache import (MIN_PREFIX_TOKENS, REUSE_SLACK_TOKENS, PrefixEntry, PrefixStore,
                                            common_prefix_length, batch_cache_from_prefix, compute_prefix)


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
        batch_size: Most sequences decoded at once (prompts x samples).
        threads: torch CPU threads (default: torch's choice).
        prefix_caching: Reuse the KV cache of a prefix shared by the prompts (see prefix_cache.py).
    """

    backend = "hf"

    def __init__(self, model: str | os.PathLike[str] | None = None, *, device: str = "auto", dtype: str = "auto",
                 batch_size: int = 32, threads: int | None = None, prefix_caching: bool = True) -> None:
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
        self.prefix_caching = prefix_caching
        self.prefix_store = PrefixStore()
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
        rows = self.tokenizer(prompts, add_special_tokens=True)["input_ids"]
        per_group = max(1, self.batch_size // params.n)  # prompts decoded together (x n samples each)
        out: list[list[Completion]] = []
        with torch.inference_mode(), _maybe_disabled(model):
            for start in range(0, len(rows), per_group):
                out += self._group(rows[start:start + per_group], params, adapter)
        return out

    def _group(self, rows: list[list[int]], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        """n samples of each tokenized prompt: one left-padded prefill (after the cached shared
        prefix, see prefix_cache.py), the KV cache copied n times, one decode batch."""
        import copy

        import torch
        from transformers import DynamicCache

        total = max(len(r) for r in rows)
        pads = [total - len(r) for r in rows]
        pad_id = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad_id] * p + r for p, r in zip(pads, rows)], device=self.device)
        mask = torch.tensor([[0] * p + [1] * len(r) for p, r in zip(pads, rows)], device=self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # as generate() computes them under left padding
        prefix_len, entry = self._shared_prefix(rows, adapter)
        if entry is not None:
            cache = batch_cache_from_prefix(self.model, entry, prefix_len, pads)
        else:
            cache, prefix_len = DynamicCache(config=self.model.config), 0
        if total - 1 > prefix_len:  # prefill all but the last token; generate() feeds that one
            self.model(input_ids=ids[:, prefix_len:-1], attention_mask=mask[:, :-1], position_ids=positions[:, prefix_len:-1],
                       cache=cache, use_cache=True, logits_to_keep=1)
        per_prompt: list[list[Completion]] = [[] for _ in rows]
        remaining = params.n
        while remaining:
            n = min(remaining, max(1, self.batch_size // len(rows)))
            remaining -= n
            copies = cache if not remaining else copy.deepcopy(cache)  # the last chunk may consume the original
            if n > 1:
                copies.batch_repeat_interleave(n)
            out = self.model.generate(input_ids=ids.repeat_interleave(n, dim=0), attention_mask=mask.repeat_interleave(n, dim=0),
                                      cache=copies, **self._gen_kwargs(params, total))
            completions = self._decode(out[:, total:], params)
            for i in range(len(rows)):
                per_prompt[i] += completions[i * n:(i + 1) * n]
        return per_prompt

    def _shared_prefix(self, rows: list[list[int]], adapter: str | None) -> tuple[int, PrefixEntry | None]:
        """The prefix whose cached KV this batch starts from: a stored one when it covers (nearly) all the
        batch's common prefix, else that common prefix, computed now and stored. (0, None): too short."""
        if not self.prefix_caching:
            return 0, None
        common = min(common_prefix_length(rows), min(len(r) for r in rows) - 1)  # every row keeps >= 1 token
        if common < MIN_PREFIX_TOKENS:
            return 0, None
        entry, shared = self.prefix_store.best(adapter, rows[0][:common])
        if entry is not None and shared >= max(MIN_PREFIX_TOKENS, common - REUSE_SLACK_TOKENS):
            self.prefix_store.hits += 1
            return shared, entry
        self.prefix_store.misses += 1
        entry = compute_prefix(self.model, rows[0][:common], self.device)
        self.prefix_store.put(adapter, entry)
        return common, entry

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
