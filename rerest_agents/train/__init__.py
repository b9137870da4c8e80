"""LoRA training (TRL + peft): SFT with the loss on the model's own tokens, and DPO."""

from rerest_agents.train.config import TrainConfig
from rerest_agents.train.data import tokenize_sft
from rerest_agents.train.trainer import adapter_dir, is_trained, load_for_training, train_dpo, train_sft

__all__ = ["TrainConfig", "adapter_dir", "is_trained", "load_for_training", "tokenize_sft", "train_dpo", "train_sft"]
