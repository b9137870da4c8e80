"""The Re-ReST run, top to bottom (paper §1; `../shared/research/paper.md`).

Each round: sample k outputs per training task with the agent (1) and score them in the env (2);
failures go to the reflector with the env's feedback, and its repairs are replayed and verified in
the env (3); D_M (successes), D_R (verified repairs), the reflector set and DPO pairs are built; the
reflector is trained first (4), then the agent: on D_M alone (self-training baseline) and on
D_M + D_R (Re-ReST) (5); at the end each variant is evaluated alone on the test split, greedy (6).
With `reflect_with_trained`, the trained reflector then reflects again on what is still unrepaired
(the paper's optional step). Every stage is named in `stages.json` and skipped once done, so a
killed run resumes.

The reflector is the agent's base model with its own adapter (the paper), or, with
`reflector_model`, a model of its own (`Pipeline.reflector_llm`): trained by LoRA on that model's
base when its backend is hf or vllm, zero-shot throughout when it is an OpenAI-compatible server.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerest_agents.agent import template_for
from rerest_agents.errors import ConfigError
from rerest_agents.export import agent_sft, dpo_pairs, reflector_sft, write_jsonl
from rerest_agents.llm import LLM, make_llm
from rerest_agents.pipeline.config import ModelConfig, RunConfig, results_view
from rerest_agents.pipeline.rundir import RunDir
from rerest_agents.reflect import Reflector
from rerest_agents.rollout import RecordWriter, Rollout, RolloutConfig, config_hash, make_env, read_records, sample_specs
from rerest_agents.stats import Difference, Interval, bootstrap_mean, paired_difference, per_task, wilson

VARIANTS = ("base", "selftrain", "rerest", "dpo")
#: Backends whose model the pipeline can train (LoRA on `name` with transformers): an openai
#: backend serves weights that are not here, so a reflector behind it reflects zero-shot.
TRAINABLE_BACKENDS = ("hf", "vllm")


@dataclass
class RunResult:
    """What a finished run reports: eval success per variant (with intervals), and where everything is."""

    run_dir: Path
    success: dict[str, float] = field(default_factory=dict)
    score: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    #: variant -> test task id -> success (1.0/0.0): what the intervals and paired differences resample.
    task_success: dict[str, dict[str, float]] = field(default_factory=dict)
    #: variant -> test task id -> env score.
    task_score: dict[str, dict[str, float]] = field(default_factory=dict)

    def interval(self, variant: str) -> Interval:
        """Wilson 95% interval of the variant's test success (one greedy episode per task)."""
        outcomes = self.task_success[variant]
        return wilson(round(sum(outcomes.values())), len(outcomes))

    def score_interval(self, variant: str) -> Interval:
        """Bootstrap 95% interval of the variant's mean test score."""
        return bootstrap_mean(list(self.task_score[variant].values()))

    def difference(self, treatment: str, control: str) -> Difference:
        """Paired bootstrap 95% interval of success(treatment) - success(control) over their common test tasks."""
        return paired_difference(self.task_success[treatment], self.task_success[control])


def task_ids_of(env_id: str, env_kwargs: dict[str, Any], limit: int | None) -> list[str]:
    """The first `limit` task ids of a split (envs expose them as `env.unwrapped.task_ids`)."""
    env = make_env(env_id, **env_kwargs)
    try:
        ids = list(getattr(env.unwrapped, "task_ids", []) or [])
    finally:
        env.close()
    if not ids:
        raise ConfigError(f"{env_id} with {env_kwargs} exposes no task_ids; the pipeline needs env.unwrapped.task_ids.")
    return [str(t) for t in ids[:limit]] if limit else [str(t) for t in ids]


class Pipeline:
    """Runs the stages of `RunConfig` in `run_dir` (see module docstring)."""

    def __init__(self, config: RunConfig, run_dir: str | Path, *, llm: LLM | None = None, reflector_llm: LLM | None = None,
                 progress: bool = True, log: Callable[[str], None] = print) -> None:
        self.config, self.dir, self.progress, self.log = config, RunDir(run_dir), progress, log
        self._llm, self._reflector_llm = llm, reflector_llm
        self.hash = config_hash(config.results_dict())
        self.template = template_for(config.env_id)
        self._write_config()

    # -- plumbing -----------------------------------------------------------------------------------
    def _write_config(self) -> None:
        import yaml

        path = self.dir.root / "config.yaml"
        if path.exists():  # a resumed run may change only where envs step (the executor)
            old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if results_view(old) != yaml.safe_load(yaml.safe_dump(self.config.results_dict())):
                raise ConfigError(f"{self.dir.root} holds a run with a different config; use another run directory or the same config.")
        path.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False), encoding="utf-8")

    @property
    def llm(self) -> LLM:
        """The agent's LLM (`config.model`)."""
        if self._llm is None:
            self._llm = _make(self.config.model)
        return self._llm

    @property
    def reflector_llm(self) -> LLM:
        """The reflector's LLM: the agent's, unless `config.reflector_model` names its own model."""
        if self.config.reflector_model is None:
            return self.llm
        if self._reflector_llm is None:
            self._reflector_llm = _make(self.config.reflector_model)
        return self._reflector_llm

    def _reflector_start(self) -> str | None:
        """The adapter the reflector starts from (`reflector_model.adapter`), registered; None without one."""
        model = self.config.reflector_model
        if model is None or not model.adapter:
            return None
        # a server's adapter is asked for by the name it serves it under; a folder gets a name of this run
        key = model.adapter if model.backend == "openai" else f"{self.dir.root.name}-reflector-start"
        if key not in self.reflector_llm.adapters:
            self.reflector_llm.add_adapter(key, model.adapter)
        return key

    def _rollout_config(self, split: str, *, trained: bool = False) -> RolloutConfig:
        """Rollouts of `split`; `trained`: played by a trained agent, with the prompts it was trained on."""
        c = self.config
        train = split == "train"
        return RolloutConfig(env_id=c.env_id, env_kwargs=c.train_env_kwargs if train else c.test_env_kwargs,
                             temperature=c.sample.temperature if train else c.eval.temperature,
                             max_tokens=c.sample.max_tokens if train else c.eval.max_tokens, seed=c.seed,
                             few_shot=c.trained_prompt_few_shot if trained else c.few_shot, width=c.sample.width,
                             executor=c.executor)

    def _adapter(self, name: str, llm: LLM | None = None) -> str | None:
        """Register a trained adapter with `llm` (default: the agent's); None when that stage trained nothing."""
        from rerest_agents.train import adapter_dir, is_trained

        output_dir = self.dir.adapter(name)  # train_sft/train_dpo put the adapter in <output_dir>/adapter
        if not is_trained(output_dir):
            return None
        llm = llm or self.llm
        path = adapter_dir(output_dir)
        key = f"{self.dir.root.name}-{name}"
        if key not in llm.adapters:
            llm.add_adapter(key, str(path))
        return key

    def _stage(self, name: str, body: Callable[[], str | None]) -> None:
        if self.dir.done(name):
            return
        self.log(f"[rerest] {name}")
        started = self.dir.start(name)
        note = body()
        if note:
            self.log(f"[rerest] {name} skipped: {note}")
        self.dir.finish(name, started, status="skipped" if note else "done", note=note or "")

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        c = self.config
        train_tasks = task_ids_of(c.env_id, c.train_env_kwargs, c.sample.num_tasks)
        test_tasks = task_ids_of(c.env_id, c.test_env_kwargs, c.eval.num_tasks)
        overlap = set(train_tasks) & set(test_tasks)
        if overlap and c.train_env_kwargs == c.test_env_kwargs:
            raise ConfigError("train_env_kwargs and test_env_kwargs give the same tasks; pick disjoint splits.")
        agent_adapter: str | None = None
        reflector_adapter = self._reflector_start()
        for r in range(1, c.rounds + 1):
            agent_adapter, reflector_adapter = self._round(r, train_tasks, agent_adapter, reflector_adapter)
        result = RunResult(self.dir.root)
        for variant in VARIANTS:
            if variant == "dpo" and not c.eval.dpo:
                continue
            self._evaluate(variant, test_tasks, c.rounds)
            records = read_records(self.dir.records(f"eval-{variant}"))
            if records:
                result.success[variant] = sum(t.success for t in records) / len(records)
                result.score[variant] = sum(t.score for t in records) / len(records)
                result.task_success[variant] = per_task(records)
                result.task_score[variant] = per_task(records, lambda t: t.score)
        for name in ("agent_dm", "agent_dmdr", "reflector", "dpo"):
            path = self.dir.data(name + _suffix(c.rounds))
            result.sizes[name] = sum(1 for _ in path.open()) if path.exists() else 0
        return result

    def _round(self, r: int, tasks: list[str], agent_adapter: str | None, reflector_adapter: str | None) -> tuple[str | None, str | None]:
        c, s = self.config, _suffix(r)
        sampled_path, repaired_path = self.dir.records("sampled" + s), self.dir.records("repaired" + s)

        def sample() -> None:  # (1)+(2) k samples per task, scored by the env
            rollout = Rollout(self.llm, self._rollout_config("train", trained=agent_adapter is not None), template=self.template,
                              adapter=agent_adapter, config_hash=self.hash)
            with RecordWriter(sampled_path) as writer:
                rollout.run(sample_specs(tasks, c.sample.k, seed=c.seed + r), writer, progress=self.progress, desc=f"sample r{r}")
            rollout.close()
            records = read_records(sampled_path)
            self.dir.metric("sample/success_rate", sum(t.success for t in records) / max(1, len(records)), stage="sample" + s, round=r)

        def reflect(path: Path, adapter: str | None, stage: str, skip_repaired_in: tuple[Path, ...] = ()) -> None:
            """(3) repairs of the failures (but those `skip_repaired_in` already repaired), replayed in the env."""
            repaired = {t.parent for t in _read_all(*skip_repaired_in) if t.success}
            failures = [t for t in read_records(sampled_path) if not t.success and t.key not in repaired]
            reflector = Reflector(self.reflector_llm, self._rollout_config("train"), c.reflect, template=self.template,
                                  adapter=adapter, config_hash=self.hash)
            with RecordWriter(path) as writer:
                reflector.repair(failures, writer, progress=self.progress)
            reflector.close()
            repairs = read_records(path)
            verified = sum(t.success for t in repairs)
            self.dir.metric(f"{stage}/verified_repairs", verified, stage=stage + s, round=r)
            self.dir.metric(f"{stage}/repair_rate", verified / max(1, len(failures)), stage=stage + s, round=r)

        def build_data() -> None:  # D_M, D_M + D_R, the reflector's set, DPO pairs
            sampled, repairs = read_records(sampled_path), _read_all(repaired_path, trained_path)
            canonical = bool(c.canonical_actions)
            dm = agent_sft(sampled, self.template, few_shot=c.trained_prompt_few_shot, canonical=canonical)
            dmdr = dm + agent_sft([t for t in repairs if t.success], self.template, few_shot=c.trained_prompt_few_shot, canonical=canonical)
            write_jsonl(self.dir.data("agent_dm" + s), dm)
            write_jsonl(self.dir.data("agent_dmdr" + s), dmdr)
            if not trained_path.exists():  # the reflector learns from the untrained reflector's repairs only
                write_jsonl(self.dir.data("reflector" + s), reflector_sft(sampled + repairs, self.template, c.reflect, few_shot=c.few_shot))
            write_jsonl(self.dir.data("dpo" + s), dpo_pairs(sampled + repairs, self.template, few_shot=c.trained_prompt_few_shot, canonical=canonical))
            self.dir.metric("data/dm_size", len(dm), stage="build_data" + s, round=r)
            self.dir.metric("data/dr_size", len(dmdr) - len(dm), stage="build_data" + s, round=r)

        trained_path = self.dir.records("repaired-trained" + s)
        self._stage("sample" + s, sample)
        self._stage("reflect" + s, lambda: reflect(repaired_path, reflector_adapter, "reflect"))
        self._stage("build_data" + s, build_data)
        # trained only where it will reflect: this round (reflect_with_trained) or a later one
        needed = c.reflect_with_trained or r < c.rounds
        self._stage("train_reflector" + s, lambda: self._train("reflector" + s, "reflector" + s, reflector_adapter, reflector=True,
                                                               needed=needed))
        if c.reflect_with_trained:
            def reflect_trained() -> str | None:
                trained = self._adapter("reflector" + s, self.reflector_llm)
                if trained is None:
                    return "the reflector was not trained (no reflector data): nothing new to reflect with"
                reflect(trained_path, trained, "reflect_trained", (repaired_path,))
                build_data()
                return None

            self._stage("reflect_trained" + s, reflect_trained)
        self._stage("train_agent_selftrain" + s, lambda: self._train("agent_dm" + s, "agent-selftrain" + s, agent_adapter))
        self._stage("train_agent_rerest" + s, lambda: self._train("agent_dmdr" + s, "agent-rerest" + s, agent_adapter))
        if c.eval.dpo:
            self._stage("train_agent_dpo" + s, lambda: self._train("dpo" + s, "agent-dpo" + s, agent_adapter, dpo=True))
        reflector = self._adapter("reflector" + s, self.reflector_llm) or reflector_adapter
        return self._adapter("agent-rerest" + s) or agent_adapter, reflector

    def _train(self, data_name: str, adapter_name: str, init: str | None, *, dpo: bool = False, reflector: bool = False,
               needed: bool = True) -> str | None:
        """Train one adapter of the agent (or, `reflector=True`, of the reflector's model).

        Returns a note, and trains nothing, when its data set is empty, the reflector's backend cannot be
        trained, or nothing will use the adapter (`needed=False`).
        """
        import json

        from rerest_agents.train import train_dpo, train_sft

        model, llm = (self.config.reflector_model or self.config.model, self.reflector_llm) if reflector else (self.config.model, self.llm)
        if reflector and model.backend not in TRAINABLE_BACKENDS:
            return (f"the reflector runs on the {model.backend} backend ({model.name}), whose weights cannot be trained here: "
                    "it reflects zero-shot in every round")
        if not needed:
            return ("not needed: the trained reflector would repair nothing (reflect_with_trained is false and this is the "
                    "last round); its training data is in data/" + data_name + ".jsonl")
        path = self.dir.data(data_name)
        records = [json.loads(line) for line in path.open(encoding="utf-8")] if path.exists() else []
        if not records:
            return f"no training data in {path.name}: the variant uses the untrained model"
        init_path = llm.adapters.get(init) if init else None
        train = train_dpo if dpo else train_sft
        train(records, self.dir.adapter(adapter_name), self.config.train, base_model=model.name, init_adapter=init_path)
        return None

    def _evaluate(self, variant: str, tasks: list[str], rounds: int) -> None:
        s = _suffix(rounds)
        adapter = None if variant == "base" else self._adapter({"selftrain": "agent-selftrain", "rerest": "agent-rerest",
                                                                 "dpo": "agent-dpo"}[variant] + s)
        path = self.dir.records(f"eval-{variant}")

        def body() -> str | None:
            base, note = self.dir.records("eval-base"), None
            if (variant != "base" and adapter is None and self.config.eval.temperature == 0 and base.exists()
                    and self._rollout_config("test", trained=True) == self._rollout_config("test")):
                # untrained: the same model, prompts and greedy decoding as the base episodes, so the same episodes
                shutil.copy(base, path)
                note = "no adapter was trained, so this is the base model: its greedy test episodes are eval_base's (copied)"
            else:
                rollout = Rollout(self.llm, self._rollout_config("test", trained=variant != "base"), template=self.template,
                                  adapter=adapter, config_hash=self.hash)
                with RecordWriter(path) as writer:
                    rollout.run(sample_specs(tasks, 1, seed=self.config.seed), writer, progress=self.progress, desc=f"eval {variant}")
                rollout.close()
            records = read_records(path)
            where = {"stage": f"eval_{variant}", "round": rounds, "variant": variant}
            if not records:
                self.dir.metric("eval/success_rate", 0.0, n=0, **where)
                self.dir.metric("eval/score", 0.0, n=0, **where)
            else:
                for name, interval in (("eval/success_rate", wilson(sum(t.success for t in records), len(records))),
                                       ("eval/score", bootstrap_mean([t.score for t in records]))):
                    self.dir.metric(name, interval.estimate, ci_low=interval.low, ci_high=interval.high, n=interval.n, **where)
            return note

        self._stage(f"eval_{variant}", body)


def _make(model: ModelConfig) -> LLM:
    """The LLM of a model config: `make_llm(backend, model=name, **kwargs)`."""
    kwargs = dict(model.kwargs)
    if model.name:
        kwargs["model"] = model.name
    return make_llm(model.backend, **kwargs)


def _read_all(*paths: Path) -> list[Any]:
    """The records of every file that exists, in order."""
    return [t for path in paths if path.exists() for t in read_records(path)]


def _suffix(round_: int) -> str:
    return "" if round_ == 1 else f"-r{round_}"
