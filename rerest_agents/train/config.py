"""`TrainConfig`: the LoRA + optimiser settings shared by SFT and DPO training.

With no arguments it is the CPU preset (gemma-3-270m, a few minutes on 2 cores). The paper's
settings per task are in `../shared/research/paper.md` §2, e.g. HotpotQA: `TrainConfig(lora_r=8,
lora_alpha=16, lora_target_modules=("q_proj", "v_proj"), learning_rate=3e-4, epochs=3,
per_device_batch_size=2, grad_accumulation=64)`. Any other TRL `SFTConfig`/`DPOConfig` argument goes
through `trl_overrides` unchanged (e.g. `{"lr_scheduler_type": "cosine", "warmup_ratio": 0.03}`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rerest_agents.errors import ConfigError

#: TrainingArguments fields that TrainConfig sets itself; overriding them through `trl_overrides`
#: would silently disagree with the config's own field, so it is refused.
_OWN_TRL_FIELDS = {
    "output_dir": "output_dir (an argument of train_sft/train_dpo)",
    "learning_rate": "learning_rate", "num_train_epochs": "epochs",
    "per_device_train_batch_size": "per_device_batch_size", "gradient_accumulation_steps": "grad_accumulation",
    "max_length": "max_length", "seed": "seed", "max_steps": "max_steps", "save_steps": "save_steps",
    "logging_steps": "logging_steps", "beta": "the beta argument of train_dpo",
}


@dataclass
class TrainConfig:
    """LoRA fine-tuning settings (defaults: the CPU preset)."""

    # -- LoRA (peft) ---------------------------------------------------------------------------------
    #: LoRA rank.
    lora_r: int = 16
    #: LoRA scaling numerator (the update is scaled by alpha / r).
    lora_alpha: int = 32
    #: Dropout on the LoRA input.
    lora_dropout: float = 0.05
    #: Module names that get LoRA adapters (attention projections by default).
    lora_target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    # -- optimisation --------------------------------------------------------------------------------
    #: AdamW peak learning rate (linear decay, no warmup unless set in trl_overrides).
    learning_rate: float = 2e-4
    #: Passes over the training set.
    epochs: float = 2.0
    #: Sequences per forward/backward (micro-batch).
    per_device_batch_size: int = 4
    #: Micro-batches per optimiser step (effective batch = per_device_batch_size * grad_accumulation).
    grad_accumulation: int = 2
    #: Most tokens per sequence (prompt + completion); longer prompts lose their start (few-shot
    #: exemplars first), then completions lose their end.
    max_length: int = 512
    #: Stop after this many optimiser steps (None: run the epochs).
    max_steps: int | None = None
    #: Seed of the LoRA initialisation and the data order.
    seed: int = 0

    # -- checkpoints and logs ------------------------------------------------------------------------
    #: Save a resumable TRL checkpoint every this many optimiser steps (a killed run restarts there).
    save_steps: int = 50
    #: Log train/loss etc. every this many optimiser steps (to train_log.jsonl and the progress bar).
    logging_steps: int = 1
    #: Extra arguments for TRL's SFTConfig / DPOConfig, passed through unchanged.
    trl_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lora_target_modules = tuple(self.lora_target_modules) if not isinstance(self.lora_target_modules, str) \
            else (self.lora_target_modules,)
        positive_ints = ("lora_r", "lora_alpha", "per_device_batch_size", "grad_accumulation", "save_steps",
                         "logging_steps")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"TrainConfig.{name} must be an integer >= 1, got {value!r}.")
        if not isinstance(self.max_length, int) or isinstance(self.max_length, bool) or self.max_length < 8:
            raise ConfigError(f"TrainConfig.max_length must be an integer >= 8, got {self.max_length!r}.")
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or isinstance(self.max_steps, bool)
                                           or self.max_steps < 1):
            raise ConfigError(f"TrainConfig.max_steps must be None or an integer >= 1, got {self.max_steps!r}.")
        if not isinstance(self.lora_dropout, (int, float)) or not 0 <= self.lora_dropout < 1:
            raise ConfigError(f"TrainConfig.lora_dropout must be in [0, 1), got {self.lora_dropout!r}.")
        if not isinstance(self.learning_rate, (int, float)) or isinstance(self.learning_rate, bool) \
                or not 0 < self.learning_rate < 1:
            raise ConfigError(f"TrainConfig.learning_rate must be in (0, 1), got {self.learning_rate!r}.")
        if not isinstance(self.epochs, (int, float)) or isinstance(self.epochs, bool) or self.epochs <= 0:
            raise ConfigError(f"TrainConfig.epochs must be > 0, got {self.epochs!r}.")
        if not self.lora_target_modules or not all(isinstance(m, str) and m for m in self.lora_target_modules):
            raise ConfigError(f"TrainConfig.lora_target_modules must be a non-empty list of module names, "
                              f"got {self.lora_target_modules!r}.")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"TrainConfig.seed must be an integer, got {self.seed!r}.")
        if not isinstance(self.trl_overrides, dict):
            raise ConfigError(f"TrainConfig.trl_overrides must be a dict of SFTConfig/DPOConfig arguments, "
                              f"got {type(self.trl_overrides).__name__}.")
        for key in self.trl_overrides:
            if key in _OWN_TRL_FIELDS:
                raise ConfigError(f"TrainConfig.trl_overrides[{key!r}]: set {_OWN_TRL_FIELDS[key]} instead.")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (for run directories and completion markers)."""
        d = asdict(self)
        d["lora_target_modules"] = list(self.lora_target_modules)
        return d

    def lora_config(self) -> Any:
        """The peft `LoraConfig` of these settings."""
        from peft import LoraConfig

        return LoraConfig(r=self.lora_r, lora_alpha=self.lora_alpha, lora_dropout=self.lora_dropout,
                          target_modules=list(self.lora_target_modules), task_type="CAUSAL_LM", bias="none")
