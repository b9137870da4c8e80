"""`rerest run CONFIG --dry-run`: what a run would do, without a model, a GPU or a run directory.

`plan(config)` builds the train and test envs (so their data and kwargs are checked), counts the
tasks, and lists the stages of `Pipeline.run` in order with their episodes, the generated tokens
they may cost, and the adapters they train. `render(plan)` is the text the CLI prints.

Token figures are upper bounds: every turn writes `max_tokens`, every episode lasts its step limit,
and (for the reflect stages) every sample fails. Prompt tokens (prefill) are not counted in the
generated tokens; a training example is the trained prompt (measured on the first training task, ~4
characters a token) plus every turn's completion, cut at `train.max_length`. For a GPU
preset (`model.backend: vllm`, or a model bigger than the embedded one) a rough GPU-hour figure is
derived from those bounds and the throughput assumptions named in `GPU_ASSUMPTIONS`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from rerest_agents.errors import ConfigError
from rerest_agents.pipeline.config import RunConfig

#: Decode throughput of vLLM on one H100 (bf16, batch ~256) for an 8B model, tokens/s; a model of
#: N billion parameters is assumed to decode at this * 8 / N.
DECODE_TOKENS_PER_S_8B = 2500.0
#: LoRA training cost per token: forward + backward through frozen weights ~ 4 x parameters FLOP.
TRAIN_FLOP_PER_PARAM_TOKEN = 4.0
#: Sustained training throughput of one H100 in bf16 (~40% of its 989 dense TFLOP/s).
TRAIN_FLOP_PER_S = 400e12
GPU_ASSUMPTIONS = (f"one H100; generation {DECODE_TOKENS_PER_S_8B:,.0f} tokens/s for an 8B model in vLLM at batch ~256, "
                   "scaled by 8B / model size; LoRA training 4 x params FLOP per token at 400 TFLOP/s (~40% MFU); "
                   "prompt prefill not counted; token counts are the upper bounds above")
#: Characters per token assumed where text is measured without a tokenizer.
CHARS_PER_TOKEN = 4
#: Parameters of the embedded model (gemma-3-270m), in billions.
EMBEDDED_PARAMS_B = 0.27


@dataclass
class SplitPlan:
    """One split of the run: how it is built and how many of its tasks are used."""

    name: str
    kwargs: dict[str, Any]
    #: Tasks the split has (None: the env could not be built here, see `problem`).
    available: int | None
    #: Tasks the run uses (the config's limit, capped by `available`; None: unknown).
    used: int | None
    #: Most turns an episode may take (single-step envs: 1; Layout two-step: 2).
    max_turns: int
    #: Why the env could not be built (data missing here), or None.
    problem: str | None = None
    #: Characters of the first task's first observation (None: not built here).
    observation_chars: int | None = None


@dataclass
class StagePlan:
    """One stage of `Pipeline.run`, as named in `stages.json`."""

    name: str
    what: str
    episodes: int | None = None
    #: Upper bound of the tokens the stage generates (None: unknown).
    gen_tokens: int | None = None
    #: Adapter trained by this stage (None: none).
    adapter: str | None = None
    #: Upper bound of the tokens the training stage passes through the model (examples x max_length x epochs).
    train_tokens: int | None = None
    #: Upper bound of the optimiser steps.
    train_steps: int | None = None
    #: Why the stage may be skipped, or a remark.
    note: str = ""


@dataclass
class Plan:
    """What `rerest run` would do with a config."""

    config: RunConfig
    train: SplitPlan
    test: SplitPlan
    stages: list[StagePlan] = field(default_factory=list)
    #: Billions of parameters of the agent's model (from its name), None if unknown.
    params_b: float | None = None
    gpu: bool = False
    #: Tokens of one training example at most (measured prompt + completions, or max_length where
    #: the training split could not be built here).
    example_tokens: int | None = None

    @property
    def episodes(self) -> int | None:
        return _sum(s.episodes for s in self.stages if not s.adapter)

    @property
    def gen_tokens(self) -> int | None:
        return _sum(s.gen_tokens for s in self.stages if not s.adapter)

    @property
    def train_tokens(self) -> int | None:
        return _sum(s.train_tokens for s in self.stages if s.adapter)

    @property
    def adapters(self) -> list[str]:
        return [s.adapter for s in self.stages if s.adapter]

    def gpu_hours(self) -> tuple[float, float] | None:
        """(generation, training) GPU-hours under `GPU_ASSUMPTIONS`; None where a count is unknown."""
        if not self.gpu or self.params_b is None or self.gen_tokens is None or self.train_tokens is None:
            return None
        generate = self.gen_tokens / (DECODE_TOKENS_PER_S_8B * 8.0 / self.params_b) / 3600
        train = self.train_tokens * TRAIN_FLOP_PER_PARAM_TOKEN * self.params_b * 1e9 / TRAIN_FLOP_PER_S / 3600
        return generate, train


def _sum(values: Any) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def params_of(name: str | None) -> float | None:
    """Billions of parameters read from a model id (`...-13b-...` -> 13.0, `gemma-3-270m` -> 0.27); None if absent."""
    if name is None:
        return EMBEDDED_PARAMS_B
    found = re.findall(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([bm])(?![a-z])", name.lower().replace("_", "-"))
    if not found:
        return None
    number, unit = found[-1]
    return float(number) * (1.0 if unit == "b" else 1e-3)


def _split(config: RunConfig, name: str, kwargs: dict[str, Any], limit: int | None, style: str) -> SplitPlan:
    """Build the split's env once: its task count and turn limit, or the data problem that stops it here."""
    from rerest_agents.rollout import RolloutConfig, make_env
    from rerest_envs.errors import DataNotFound, DownloadError

    cap = RolloutConfig(env_id=config.env_id).max_steps
    try:
        env = make_env(config.env_id, **kwargs)
    except (DataNotFound, DownloadError) as exc:
        turns = kwargs.get("max_episode_steps", kwargs.get("steps", 1 if style == "single" else cap))
        return SplitPlan(name, kwargs, None, limit, min(int(turns), cap), problem=str(exc).splitlines()[0])
    except TypeError as exc:  # an unknown kwarg: a config mistake
        raise ConfigError(f"{name}_env_kwargs {kwargs}: {exc}") from None
    try:
        ids = list(getattr(env.unwrapped, "task_ids", []) or [])
        if not ids:
            raise ConfigError(f"{config.env_id} with {kwargs} exposes no task_ids; the pipeline needs env.unwrapped.task_ids.")
        if style == "single":
            turns = int(getattr(env.unwrapped, "steps", 1) or 1)
        else:
            turns = (env.spec.max_episode_steps if env.spec is not None else None) or cap
        observation, _ = env.reset(seed=config.seed, options={"task_id": ids[0]})
    finally:
        env.close()
    used = min(limit, len(ids)) if limit else len(ids)
    return SplitPlan(name, kwargs, len(ids), used, min(int(turns), cap), observation_chars=len(observation))


def plan(config: RunConfig) -> Plan:
    """The stages `Pipeline(config, ...).run()` would go through, with their sizes (see module docstring)."""
    from rerest_agents.agent import template_for
    from rerest_agents.pipeline.run import TRAINABLE_BACKENDS

    c = config
    template = template_for(c.env_id)
    train = _split(c, "train", c.train_env_kwargs, c.sample.num_tasks, template.style)
    test = _split(c, "test", c.test_env_kwargs, c.eval.num_tasks, template.style)
    if c.train_env_kwargs == c.test_env_kwargs:
        raise ConfigError("train_env_kwargs and test_env_kwargs give the same tasks; pick disjoint splits.")
    sample_tokens = c.sample.max_tokens or template.max_tokens
    eval_tokens = c.eval.max_tokens or template.max_tokens
    reflector_backend = (c.reflector_model or c.model).backend
    agent_name = c.model.name
    params = params_of(agent_name)
    out = Plan(c, train, test, params_b=params,
               gpu=c.model.backend == "vllm" or (params is not None and params > 1.0 and c.model.backend != "openai"))

    def times(*xs: int | None) -> int | None:
        return None if any(x is None for x in xs) else math.prod(xs)  # type: ignore[arg-type]

    t = c.train
    # tokens of one training example: the trained prompt + every turn's completion (+ observation for
    # ReAct), cut at max_length; ~4 characters a token. Unknown prompt (data missing): max_length.
    example_tokens = t.max_length
    if train.observation_chars is not None:
        prompt_chars = len(template.prompt("x" * train.observation_chars, few_shot=c.trained_prompt_few_shot))
        per_turn = sample_tokens + (train.observation_chars // CHARS_PER_TOKEN if template.style == "react" else 0)
        example_tokens = min(t.max_length, prompt_chars // CHARS_PER_TOKEN + train.max_turns * per_turn)
    out.example_tokens = example_tokens

    def training(stage: str, what: str, adapter: str, examples: int | None, note: str = "") -> StagePlan:
        passes = None if examples is None else math.ceil(examples * t.epochs)
        steps = None if passes is None else math.ceil(passes / (t.per_device_batch_size * t.grad_accumulation))
        if steps is not None and t.max_steps is not None:
            steps = min(steps, t.max_steps)
            passes = min(passes, steps * t.per_device_batch_size * t.grad_accumulation)
        return StagePlan(stage, what, adapter=adapter, train_tokens=times(passes, example_tokens), train_steps=steps, note=note)

    episodes = times(train.used, c.sample.k)
    per_episode = train.max_turns * sample_tokens
    # a repair: a reflection (none with `reflect.direct`), then a new episode of the same task; each
    # failure gets up to `attempts` tries
    per_repair = (0 if c.reflect.direct else c.reflect.reflection_tokens) + per_episode
    for r in range(1, c.rounds + 1):
        s = "" if r == 1 else f"-r{r}"
        agent = "the base model" if r == 1 else f"the round-{r - 1} Re-ReST agent"
        out.stages.append(StagePlan("sample" + s, f"{_n(train.used)} train tasks x k={c.sample.k} with {agent}, T={c.sample.temperature}",
                                    episodes, times(episodes, per_episode)))
        tries = times(episodes, c.reflect.attempts)
        out.stages.append(StagePlan("reflect" + s, f"reflect on each failure ({c.reflect.attempts} tr{'y' if c.reflect.attempts == 1 else 'ies at most'}) and replay it",
                                    tries, times(tries, per_repair), note="counts assume every sample fails"))
        out.stages.append(StagePlan("build_data" + s, "D_M, D_M + D_R, the reflector's set, DPO pairs (no model)", 0, 0))
        needed = c.reflect_with_trained or r < c.rounds
        if reflector_backend not in TRAINABLE_BACKENDS:
            out.stages.append(StagePlan("train_reflector" + s, "skipped: the reflector's backend cannot be trained", 0, 0))
        elif needed:
            out.stages.append(training("train_reflector" + s, "LoRA SFT of the reflector on D_M^R + D_R^R", "reflector" + s,
                                       episodes, note="examples <= failed x passing pairs; bounded here by the samples"))
        else:
            out.stages.append(StagePlan("train_reflector" + s, "skipped: nothing would use it (reflect_with_trained false, last round)",
                                        0, 0))
        if c.reflect_with_trained:
            out.stages.append(StagePlan("reflect_trained" + s, "the trained reflector on the failures still unrepaired",
                                        tries, times(tries, per_repair), note="counts assume every sample fails"))
        # D_M + D_R <= the samples (each passes or has at most one verified repair)
        out.stages.append(training("train_agent_selftrain" + s, "LoRA SFT of the agent on D_M", "agent-selftrain" + s, episodes))
        out.stages.append(training("train_agent_rerest" + s, "LoRA SFT of the agent on D_M + D_R", "agent-rerest" + s, episodes))
        if c.eval.dpo:  # one pair per failed sample or failed repair
            failed = None if tries is None else episodes + tries * (2 if c.reflect_with_trained else 1)
            out.stages.append(training("train_agent_dpo" + s, "DPO of the agent on (repaired, failed) pairs", "agent-dpo" + s, failed))
    variants = ["base", "selftrain", "rerest"] + (["dpo"] if c.eval.dpo else [])
    for variant in variants:
        out.stages.append(StagePlan(f"eval_{variant}", f"{_n(test.used)} test tasks, greedy, agent alone ({variant})" if c.eval.temperature == 0
                                    else f"{_n(test.used)} test tasks, T={c.eval.temperature} ({variant})",
                                    test.used, times(test.used, test.max_turns * eval_tokens)))
    return out


def _n(value: int | float | None) -> str:
    return "?" if value is None else f"{value:,}"  # ? = unknown here (the split's data is missing)


def render(p: Plan, config_name: str = "") -> list[str]:
    """The dry-run's screen: the config, the splits, one line per stage, totals and (GPU) GPU-hours."""
    c = p.config
    model = c.model.name or "gemma-3-270m (embedded)"
    size = "" if p.params_b is None else f", ~{p.params_b:g}B parameters"
    lines = [f"Dry run of {config_name or 'the embedded CPU preset'}: config valid; no model loaded, nothing written.",
             f"  env {c.env_id}; agent {c.model.backend}:{model}{size}; rounds {c.rounds}; seed {c.seed}"]
    if c.reflector_model is not None:
        lines.append(f"  reflector {c.reflector_model.backend}:{c.reflector_model.name}")
    for s in (p.train, p.test):
        have = f"{_n(s.available)} tasks" if s.available is not None else "tasks unknown"
        lines.append(f"  {s.name:<5} split {s.kwargs}: {have}, {_n(s.used)} used, <= {s.max_turns} turns an episode")
        if s.problem:
            lines.append(f"        DATA MISSING HERE: {s.problem}")
    t = c.train
    lines.append(f"  LoRA r={t.lora_r} alpha={t.lora_alpha} on {','.join(t.lora_target_modules)}; lr {t.learning_rate:g}; "
                 f"{t.epochs:g} epochs; batch {t.per_device_batch_size}x{t.grad_accumulation}; max_length {t.max_length}"
                 + (f"; max_steps {t.max_steps}" if t.max_steps else ""))
    measured = "max_length: the prompt cannot be measured here" if p.train.observation_chars is None else "prompt measured"
    lines.append(f"  a training example: ~{_n(p.example_tokens)} tokens ({measured}, ~{CHARS_PER_TOKEN} characters a token)")
    lines.append(f"  {'stage':<24}{'episodes':>10}{'gen. tokens <=':>16}  what")
    for st in p.stages:
        if st.adapter:
            detail = f"-> adapters/{st.adapter}: <= {_n(st.train_steps)} steps, <= {_n(st.train_tokens)} tokens"
            lines.append(f"  {st.name:<24}{'':>10}{'':>16}  {st.what} {detail}")
        else:
            lines.append(f"  {st.name:<24}{_n(st.episodes):>10}{_n(st.gen_tokens):>16}  {st.what}")
    lines.append(f"  total: {_n(p.episodes)} episodes, <= {_n(p.gen_tokens)} generated tokens; "
                 f"{len(p.adapters)} adapters to train ({', '.join(p.adapters) or 'none'})")
    hours = p.gpu_hours()
    if hours is not None:
        gen, train = hours
        lines.append(f"  GPU: ~{gen + train:.2g} GPU-hours at most (generation {gen:.2g}, training {train:.2g}); "
                     f"assumes {GPU_ASSUMPTIONS}.")
    elif p.gpu:
        lines.append("  GPU: no GPU-hour figure (a task count or the model size is unknown).")
    import importlib.util

    backends = {c.model.backend} | ({c.reflector_model.backend} if c.reflector_model else set())
    for backend, module, extra in (("vllm", "vllm", "vllm"), ("openai", "openai", "openai")):
        if backend in backends and importlib.util.find_spec(module) is None:
            lines.append(f"  Note: the {backend} backend is not installed here: pip install \"rerest[{extra}]\""
                         + (" on a CUDA machine." if backend == "vllm" else "."))
    missing = [s.name for s in (p.train, p.test) if s.problem]
    if missing:
        lines.append(f"  Not runnable here yet: the {' and '.join(missing)} data is missing (see above); "
                     "counts use the config's limits.")
    return lines
