"""LoRA training through TRL + peft: `train_sft` (loss on the model's own tokens) and `train_dpo`.

Both write under `output_dir`: TRL checkpoints (`checkpoint-N/`, every `save_steps`), the log
`train_log.jsonl` (one JSON line per logging step: `train/loss`, `train/learning_rate`,
`train/epoch`, ...), and the final adapter in `output_dir/adapter/` (peft format, loads with
`PeftModel.from_pretrained` and with `llm.add_adapter(name, path)` of any backend). A run is resumable:
the adapter folder holds a completion marker (`rerest_train.json`), and with it a re-run returns at
once; without it a re-run restarts from the last checkpoint.

SFT memory: gemma-3's 262k-entry output layer makes full logits of 8x512 tokens 4.3 GB (plus their
gradient). `_SupervisedSFTTrainer.compute_loss` runs the model body, keeps the hidden states of the
positions whose next token is supervised, and projects only those through the LM head with a fused
head + loss (`lm_head_loss.py`: the gradient is taken while each logits tile is in memory), so neither
the prompt positions nor a full logits tensor cost anything.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rerest_agents.errors import ConfigError, DependencyNotInstalled, ModelNotFound
from rerest_agents.train.config import TrainConfig
from rerest_agents.train.data import IGNORE, tokenize_sft

#: File, inside the adapter folder, that marks a finished training run.
DONE_MARKER = "rerest_train.json"
#: Name of the loss log inside output_dir.
LOG_NAME = "train_log.jsonl"

def _import_train() -> Any:
    try:
        import peft  # noqa: F401
        import torch
        import trl  # noqa: F401
    except ImportError:
        raise DependencyNotInstalled('Training needs torch, peft and trl: pip install "rerest[train]" '
                                     "(CPU: add -c constraints/cpu.txt).") from None
    return torch


def adapter_dir(output_dir: str | os.PathLike[str]) -> Path:
    """Where `train_sft`/`train_dpo` put the final adapter."""
    return Path(output_dir) / "adapter"


def is_trained(output_dir: str | os.PathLike[str]) -> bool:
    """Whether a finished adapter (with its completion marker) is in `output_dir`."""
    return (adapter_dir(output_dir) / DONE_MARKER).exists()


def load_for_training(base_model: str | os.PathLike[str] | None = None, init_adapter: str | os.PathLike[str] | None = None,
                      config: TrainConfig | None = None) -> tuple[Any, Any]:
    """`(peft_model, tokenizer)` ready to train.

    `base_model`: HF id or folder (None: the embedded gemma-3-270m). `init_adapter`: a LoRA folder to
    continue training (its own LoRA settings are kept); otherwise a fresh adapter from `config`.
    fp32 on CPU (bf16 is ~8x slower on CPUs without avx512_bf16), bf16 on a GPU that supports it.
    """
    torch = _import_train()
    from peft import PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rerest_agents.llm.embedded import EMBEDDED_MODEL, embedded_model_dir

    config = config or TrainConfig()
    name = str(base_model or EMBEDDED_MODEL)
    path: str | Path = embedded_model_dir() if name == EMBEDDED_MODEL else name
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except OSError as exc:
        raise ModelNotFound(f"Cannot load model {name!r}: {str(exc).splitlines()[0]} "
                            "(give a local folder, or a hub id on a machine with network access).") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(config.seed)  # the LoRA initialisation
    if init_adapter is not None:
        if not (Path(init_adapter) / "adapter_config.json").exists():
            raise ModelNotFound(f"init_adapter {str(init_adapter)!r} is not a LoRA folder (no adapter_config.json).")
        model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    else:
        model = get_peft_model(model, config.lora_config())
    return model, tokenizer


# -- TRL arguments ------------------------------------------------------------------------------------
def _common_args(config: TrainConfig, output_dir: Path) -> dict[str, Any]:
    import torch

    gpu = torch.cuda.is_available()
    return {
        "output_dir": str(output_dir), "learning_rate": config.learning_rate, "num_train_epochs": config.epochs,
        "per_device_train_batch_size": config.per_device_batch_size,
        "gradient_accumulation_steps": config.grad_accumulation, "max_length": config.max_length,
        "seed": config.seed, "data_seed": config.seed, "max_steps": config.max_steps or -1,
        "save_strategy": "steps", "save_steps": config.save_steps, "save_total_limit": 2,
        "logging_steps": config.logging_steps, "report_to": [],
        # On CPU: fp32 and no activation checkpointing (TRL's bf16 + checkpointing default is ~9x slower here).
        "use_cpu": not gpu, "bf16": gpu and torch.cuda.is_bf16_supported(), "activation_checkpointing": False,
    }


#: TrainingArguments that transformers 5 renamed (old -> new). The old names warn (FutureWarning) and lose to
#: the new ones when both are set; transformers 4 knows only the old ones.
_RENAMED_ARGS = {"gradient_checkpointing": "activation_checkpointing",
                 "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs"}


def _trl_config(cls: Any, args: dict[str, Any], overrides: dict[str, Any]) -> Any:
    # Speak the installed version's names, whichever the caller used (later entries win, overrides included).
    renamed = _RENAMED_ARGS if hasattr(cls, "activation_checkpointing") else {new: old for old, new in _RENAMED_ARGS.items()}
    settings = {renamed.get(key, key): value for key, value in {**args, **overrides}.items()}
    try:
        return cls(**settings)
    except TypeError as exc:
        raise ConfigError(f"TrainConfig.trl_overrides: {str(exc).splitlines()[0]} (see TRL's {cls.__name__}).") from None
    except ValueError as exc:
        raise ConfigError(f"TrainConfig.trl_overrides: {cls.__name__} refused the settings: "
                          f"{str(exc).splitlines()[0]}") from None


def _log_callback(path: Path) -> Any:
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        """Appends each TRL log line to train_log.jsonl with `train/` names."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
            if not logs or not state.is_world_process_zero:
                return
            row: dict[str, Any] = {"step": state.global_step, "time": round(time.time(), 3)}
            for key, value in logs.items():
                # the end-of-run summary says `train_loss` for the mean over the run
                name = {"train_loss": "mean_loss"}.get(key, key.removeprefix("train_"))
                row[name if name.startswith(("train/", "eval")) else f"train/{name}"] = value
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    return JsonlLog()


def _loss_on_the_bar(trainer: Any) -> None:
    """Show the loss on TRL's progress bar instead of printing a dict per log line.

    `rerest run` prints stage progress to the terminal; a `{'loss': ..., 'grad_norm': ...}` line per
    step buries it. The full log goes to train_log.jsonl anyway.
    """
    from transformers.trainer_callback import ProgressCallback

    class LossOnTheBar(ProgressCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
            if state.is_world_process_zero and self.training_bar is not None and logs and "loss" in logs:
                self.training_bar.set_postfix(loss=f"{logs['loss']:.4g}")

    if any(type(c) is ProgressCallback for c in trainer.callback_handler.callbacks):
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(LossOnTheBar())


def _last_checkpoint(output_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None


def _finish(trainer: Any, output_dir: Path, config: TrainConfig, kind: str, extra: dict[str, Any]) -> Path:
    """Save the adapter (the trained one only), then write the completion marker last."""
    target = adapter_dir(output_dir)
    model = trainer.model
    model.save_pretrained(str(target), selected_adapters=["default"])
    history = [row for row in trainer.state.log_history if "loss" in row]
    marker = {"kind": kind, "config": config.to_dict(), "global_step": trainer.state.global_step,
              "final_loss": history[-1]["loss"] if history else None, **extra}
    tmp = target / (DONE_MARKER + ".tmp")
    tmp.write_text(json.dumps(marker, indent=2))
    tmp.replace(target / DONE_MARKER)
    for checkpoint in output_dir.glob("checkpoint-*"):  # only needed to resume an unfinished run
        shutil.rmtree(checkpoint, ignore_errors=True)
    return target


def _supervised_trainer_cls() -> Any:
    import torch
    from trl import SFTTrainer

    from rerest_agents.train.lm_head_loss import linear_cross_entropy

    class SupervisedSFTTrainer(SFTTrainer):
        """SFTTrainer whose loss projects only supervised positions through the LM head."""

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            return supervised_loss(model, inputs, num_items_in_batch)

    def supervised_loss(model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> Any:
        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        body = causal_lm.base_model  # transformers: the decoder stack under the LM head
        kwargs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
        hidden = body(**kwargs, use_cache=False).last_hidden_state[:, :-1]
        targets = inputs["labels"][:, 1:]
        mask = targets != IGNORE
        hidden, targets = hidden[mask], targets[mask]
        head = causal_lm.get_output_embeddings()
        softcap = getattr(causal_lm.config.get_text_config(), "final_logit_softcapping", None)
        if head.bias is None:
            total = linear_cross_entropy(hidden, head.weight, targets, softcap=softcap)
        else:  # heads with a bias are small enough for plain logits
            logits = head(hidden).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            total = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
        count = num_items_in_batch if num_items_in_batch is not None else mask.sum()
        return total / torch.as_tensor(count, device=total.device).clamp(min=1)

    SupervisedSFTTrainer.supervised_loss = staticmethod(supervised_loss)
    return SupervisedSFTTrainer


def train_sft(records: Sequence[dict[str, Any]], output_dir: str | os.PathLike[str], config: TrainConfig | None = None,
              *, base_model: str | os.PathLike[str] | None = None,
              init_adapter: str | os.PathLike[str] | None = None) -> Path:
    """LoRA SFT on `records` (`{"prompt", "completion", "segments"?}`); returns the adapter folder.

    The loss is on the completion's `loss: True` segments (and the closing EOS) only. Finished
    `output_dir`: returns at once. Interrupted one: resumes from its last checkpoint.
    """
    config = config or TrainConfig()
    output_dir = Path(output_dir)
    if is_trained(output_dir):
        return adapter_dir(output_dir)
    _import_train()
    from datasets import Dataset
    from trl import SFTConfig

    model, tokenizer = load_for_training(base_model, init_adapter, config)
    examples = tokenize_sft(records, tokenizer, config.max_length)
    if not examples:
        raise ConfigError(f"train_sft: none of the {len(records)} records has a supervised token within "
                          f"max_length={config.max_length}.")
    args = _trl_config(SFTConfig, {**_common_args(config, output_dir), "dataset_kwargs": {"skip_prepare_dataset": True},
                                   "remove_unused_columns": False}, config.trl_overrides)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer = _supervised_trainer_cls()(model=model, args=args, train_dataset=Dataset.from_list(examples),
                                        processing_class=tokenizer, callbacks=[_log_callback(output_dir / LOG_NAME)])
    _loss_on_the_bar(trainer)
    trainer.train(resume_from_checkpoint=_last_checkpoint(output_dir))
    return _finish(trainer, output_dir, config, "sft", {"records": len(records), "examples": len(examples)})


def train_dpo(pairs: Sequence[dict[str, Any]], output_dir: str | os.PathLike[str], config: TrainConfig | None = None,
              *, base_model: str | os.PathLike[str] | None = None, init_adapter: str | os.PathLike[str] | None = None,
              beta: float = 0.1) -> Path:
    """LoRA DPO on `pairs` (`{"prompt", "chosen", "rejected"}`) with TRL's DPOTrainer; returns the adapter folder.

    The reference policy is the model without the trained adapter: the base model, or `init_adapter`
    as it was before training (TRL keeps a frozen copy under the name "ref").
    """
    config = config or TrainConfig()
    if not isinstance(beta, (int, float)) or beta <= 0:
        raise ConfigError(f"train_dpo: beta must be > 0, got {beta!r}.")
    output_dir = Path(output_dir)
    if is_trained(output_dir):
        return adapter_dir(output_dir)
    _import_train()
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    rows = []
    for i, pair in enumerate(pairs):
        if not all(isinstance(pair.get(k), str) for k in ("prompt", "chosen", "rejected")):
            raise ConfigError(f"DPO pair {i} needs string 'prompt', 'chosen' and 'rejected', got {sorted(pair)}.")
        rows.append({k: pair[k] for k in ("prompt", "chosen", "rejected")})
    if not rows:
        raise ConfigError("train_dpo: no pairs to train on.")
    model, tokenizer = load_for_training(base_model, init_adapter, config)
    args = _trl_config(DPOConfig, {**_common_args(config, output_dir), "beta": beta}, config.trl_overrides)
    output_dir.mkdir(parents=True, exist_ok=True)
    trainer = DPOTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         callbacks=[_log_callback(output_dir / LOG_NAME)])
    _loss_on_the_bar(trainer)
    with warnings.catch_warnings():
        # TRL's DPOTrainer reads `model.is_gradient_checkpointing` on every step, a name transformers 5 deprecated:
        # a FutureWarning in the middle of the progress bar about code that is not ours.
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        trainer.train(resume_from_checkpoint=_last_checkpoint(output_dir))
    return _finish(trainer, output_dir, config, "dpo", {"pairs": len(rows), "beta": beta})
