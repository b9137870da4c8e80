"""`RunConfig`: every setting of a Re-ReST run, loadable from YAML with one-line errors.

`RunConfig()` is the embedded CPU preset: gemma-3-270m on `rerest/Layout-v0` count and spatial
prompts (generated, disjoint train and test sets), small enough to finish in minutes on 2 cores.
YAML files mirror the dataclasses (see `configs/`); unknown keys are errors that name the valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerest_agents.errors import ConfigError
from rerest_agents.reflect import ReflectConfig
from rerest_agents.rollout import ExecutorConfig
from rerest_agents.train import TrainConfig


@dataclass
class ModelConfig:
    """Which LLM acts (agent); the reflector is the same base model with its own adapter unless
    `RunConfig.reflector_model` names another."""

    #: LLM backend: hf, vllm or openai.
    backend: str = "hf"
    #: Model id or folder; None = the embedded gemma-3-270m.
    name: str | None = None
    #: Extra keyword arguments for the backend (e.g. base_url for openai, dtype for vllm).
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from rerest_agents.llm import BACKENDS

        if self.backend not in BACKENDS:
            close = difflib.get_close_matches(str(self.backend), BACKENDS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown model backend {self.backend!r}.{hint} Valid backends: {sorted(BACKENDS)}.")


@dataclass
class ReflectorModelConfig(ModelConfig):
    """The reflector's own model (`RunConfig.reflector_model`), e.g. a bigger one behind vLLM or an
    OpenAI-compatible server. An hf or vllm reflector is trained like the agent (LoRA on `name`);
    an openai one cannot be trained here and reflects zero-shot throughout."""

    #: LoRA adapter the reflector starts from (reflects with it; training continues from it): a folder,
    #: or for backend openai the name the server serves it under (`--lora-modules NAME=...`).
    adapter: str | None = None


@dataclass
class SampleConfig:
    """Step 1: k samples per training task."""

    #: Training tasks used (the first N of the train split; None = all).
    num_tasks: int | None = 16
    #: Samples per task (k).
    k: int = 4
    #: Sampling temperature.
    temperature: float = 0.7
    #: Tokens per turn (None: the env template's default).
    max_tokens: int | None = 48
    #: Episodes advanced together (LLM batch; 32 decodes fastest on 2 cores, benchmarks/llm_prefix.py).
    width: int = 32


@dataclass
class EvalConfig:
    """Step 5: the agent alone on the test split."""

    #: Test tasks (the first N of the test split; None = all).
    num_tasks: int | None = 128
    #: 0 = greedy.
    temperature: float = 0.0
    #: Tokens per turn (None: the template's default).
    max_tokens: int | None = 48
    #: Also train and evaluate the DPO variant (repaired vs failed pairs).
    dpo: bool = False


@dataclass
class RunConfig:
    """A whole Re-ReST run."""

    # -- task --------------------------------------------------------------------------------------
    #: Gymnasium id of the env (any registered id works).
    env_id: str = "rerest/Layout-v0"
    #: gymnasium.make kwargs of the training split.
    train_env_kwargs: dict[str, Any] = field(default_factory=lambda: {"prompt_set": "generated-count-spatial", "split": "train", "steps": 1})
    #: gymnasium.make kwargs of the test split.
    test_env_kwargs: dict[str, Any] = field(default_factory=lambda: {"prompt_set": "generated-count-spatial", "split": "test", "steps": 1})
    #: Show the template's few-shot exemplars to the base model (sampling, reflection, base evaluation).
    few_shot: bool = True
    #: Prompts of the *trained* agents: their training data, their evaluation and a later round's
    #: sampling use the same ones, never a prompt the model is not evaluated with. None: as `few_shot`;
    #: False: zero-shot (FireAct's fine-tuned agents need no exemplars; a 531-token Layout prompt
    #: becomes ~20 tokens, so training and evaluation are many times cheaper).
    trained_few_shot: bool | None = None
    #: Train the agents on each success as the env read it (`Feedback.details["canonical_action"]`,
    #: where the env gives one: Layout writes the boxes it read in its own format) instead of the raw
    #: sampled text, which may carry what the env only forgave (corners in the wrong order, trailing
    #: junk). None/False: the raw text, as the paper does.
    canonical_actions: bool | None = None
    # -- stages ------------------------------------------------------------------------------------
    model: ModelConfig = field(default_factory=ModelConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    #: The embedded preset repairs directly (no reflection text) with up to 4 tries per failure,
    #: without showing the failed attempt again: chosen on the Layout validation split for
    #: gemma-3-270m (README "Does reflection help?"); the paper presets reflect once per failure.
    reflect: ReflectConfig = field(default_factory=lambda: ReflectConfig(repair_shows_attempt=False, direct=True, attempts=4))
    #: The reflector's own model; None (default) = the agent's base model with its own adapter, as in
    #: the paper. Keys: backend, name, kwargs, adapter (see ReflectorModelConfig).
    reflector_model: ReflectorModelConfig | None = None
    #: After training the reflector, reflect again with it on the failures not yet repaired (the
    #: paper's optional step); its verified repairs join D_R and the DPO pairs.
    reflect_with_trained: bool = False
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=2.0, max_length=768, per_device_batch_size=4,
                                                                    grad_accumulation=1, learning_rate=3e-4))
    eval: EvalConfig = field(default_factory=EvalConfig)
    #: Where env instances live and step in every stage: kind thread (default) or ray (see README "Scale-out").
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    #: Re-ReST rounds (round r samples with the round r-1 agent).
    rounds: int = 1
    #: Seed of sampling, resets and training.
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}.")
        if self.sample.k < 1:
            raise ConfigError(f"sample.k must be >= 1, got {self.sample.k}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def trained_prompt_few_shot(self) -> bool:
        """Whether trained agents see the exemplars (`trained_few_shot`, defaulting to `few_shot`)."""
        return self.few_shot if self.trained_few_shot is None else self.trained_few_shot

    def results_dict(self) -> dict[str, Any]:
        """The settings that decide the results: all but `executor` (threads and Ray give the same records)."""
        return results_view(self.to_dict())


def results_view(config: dict[str, Any]) -> dict[str, Any]:
    """A config dict without what does not decide the results: `executor`, and `reflector_model`,
    `trained_few_shot` and `canonical_actions` when unset (so runs and hashes from before those keys existed stay the same)."""
    return {k: v for k, v in config.items() if k != "executor" and not (k in ("reflector_model", "trained_few_shot", "canonical_actions") and v is None)}


def _build(cls: type, data: Any, where: str) -> Any:
    if not dataclasses.is_dataclass(cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(data).__name__}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            dotted = f"{where}.{key}" if where else key
            raise ConfigError(f"Unknown key {dotted!r}.{hint} Valid keys: {sorted(fields)}.")
        nested = {"model": ModelConfig, "reflector_model": ReflectorModelConfig, "sample": SampleConfig, "reflect": ReflectConfig,
                  "train": TrainConfig, "eval": EvalConfig, "executor": ExecutorConfig}
        if cls is RunConfig and key in nested and not (key == "reflector_model" and value is None):
            if isinstance(value, dict) and fields[key].default_factory is not dataclasses.MISSING:
                # a partial section keeps the run's defaults for the keys it leaves out (not the bare section's)
                default = fields[key].default_factory()
                value = {**{f.name: getattr(default, f.name) for f in dataclasses.fields(default)}, **value}
            value = _build(nested[key], value, f"{where + '.' if where else ''}{key}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML run config (None: the CPU preset) and apply `section.key=value` overrides."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Config file {str(path)!r} does not exist; see configs/ for examples.")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return _build(RunConfig, data, "")
