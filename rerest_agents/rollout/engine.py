"""`Rollout`: play many episodes with one LLM, advancing them together so the model sees batches.

Episodes run in lockstep: each round gathers the next prompt of every live episode, asks the LLM
once (identical prompts, such as the k samples of one task at their first turn, become one
`generate(n=count)` call, which the hf and vllm backends serve with a single prefill), parses the
actions, and steps the envs together through an executor (`executors/`: a thread pool here by
default, or Ray actors on a cluster); the model never leaves this process. Finished episodes are
written to the record file at once. A failure in one episode (backend, env or
sandbox) is written on that record as a typed error; it never stops the others.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from rerest_agents.agent import AgentTemplate, Step, template_for
from rerest_agents.llm.base import LLM, SamplingParams
from rerest_agents.rollout.executors import EnvFactory, ExecutorConfig, RemoteEnvError, make_executor
from rerest_agents.rollout.records import Origin, RecordWriter, StepRecord, Trajectory


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode to play.

    Attributes:
        key: Unique name of this piece of work (see `Trajectory.key`).
        task_id: Passed to `env.reset(options={"task_id": ...})`.
        sample_index: Which of the k samples of the task.
        seed: Seed for `env.reset` (sampling seeds derive from the rollout seed and the key).
        origin, parent, reflection: Copied to the record (repairs).
        context: Text shown just before the task in every prompt of the episode (a reflection).
    """

    key: str
    task_id: str
    sample_index: int = 0
    seed: int | None = None
    origin: Origin = "sampled"
    parent: str | None = None
    reflection: str | None = None
    context: str = ""


@dataclass
class RolloutConfig:
    """How episodes are played.

    Attributes:
        env_id: Gymnasium id of the env (any registered id).
        env_kwargs: Keyword arguments for `gymnasium.make`.
        temperature, top_p: Sampling (temperature 0 = greedy).
        max_tokens: Completion length per turn (None: the template's default).
        seed: Base seed of sampling and resets.
        few_shot: Show the template's exemplars in prompts.
        max_steps: Safety cap on turns per episode, on top of the env's own step limit.
        width: Episodes advanced together (env instances alive at once; also the LLM batch).
        env_threads: Threads stepping envs (thread executor).
        executor: Where env instances live and step (`ExecutorConfig`; a kind name such as "ray" or
            a dict of its fields is converted).
    """

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int | None = None
    seed: int = 0
    few_shot: bool = True
    max_steps: int = 50
    width: int = 16
    env_threads: int = 2
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self) -> None:
        if isinstance(self.executor, str):
            self.executor = ExecutorConfig(kind=self.executor)
        elif isinstance(self.executor, dict):
            self.executor = ExecutorConfig(**self.executor)


@dataclass
class _Live:
    spec: EpisodeSpec
    slot: Any  # the executor's handle of this episode's env
    first_observation: str
    observation: str
    steps: list[StepRecord] = field(default_factory=list)


def seed_of(*parts: Any) -> int:
    """A 32-bit seed that depends only on `parts` (stable across runs and processes, unlike hash())."""
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


class Rollout:
    """Plays `EpisodeSpec`s of one env with one LLM (and optional LoRA adapter)."""

    def __init__(self, llm: LLM, config: RolloutConfig, *, template: AgentTemplate | None = None, adapter: str | None = None,
                 config_hash: str = "", env_factory: Callable[[], Any] | None = None) -> None:
        self.llm, self.config, self.adapter, self.config_hash = llm, config, adapter, config_hash
        self.template = template or template_for(config.env_id)
        self.executor = make_executor(config.executor, env_factory or EnvFactory.of(config.env_id, config.env_kwargs),
                                      threads=config.env_threads)
        self._round = 0

    # -- prompts ------------------------------------------------------------------------------------
    def prompt_of(self, live: _Live) -> str:
        if self.template.style == "single":
            return self.template.prompt(live.observation, few_shot=self.config.few_shot, context=live.spec.context)
        steps = [Step(s.model_text, s.observation) for s in live.steps]
        return self.template.prompt(live.first_observation, steps, few_shot=self.config.few_shot, context=live.spec.context)

    # -- main loop ----------------------------------------------------------------------------------
    def run(self, specs: Sequence[EpisodeSpec], writer: RecordWriter | None = None, *, progress: bool = True,
            desc: str = "episodes") -> list[Trajectory]:
        """Play every spec not already in `writer`; return the new trajectories (also written)."""
        todo = deque(s for s in specs if writer is None or s.key not in writer.done)
        finished: list[Trajectory] = []
        live: list[_Live] = []
        bar = tqdm(total=len(todo), desc=desc, disable=not progress, leave=False)
        while todo or live:
            while todo and len(live) < self.config.width:  # fill the free places
                batch = [todo.popleft() for _ in range(min(len(todo), self.config.width - len(live)))]
                started = self.executor.reset([(s.seed, {"task_id": s.task_id}) for s in batch])
                for spec, result in zip(batch, started):
                    if isinstance(result, BaseException):  # unknown task id, broken game file, ...: data, not a crash
                        finished.append(self._finish_record(self._record(spec, "", [], {}, error=_error("env", result)), writer, bar))
                    else:
                        slot, observation = result
                        live.append(_Live(spec, slot, observation, observation))
            if not live:
                continue
            for item, trajectory in self._advance(live):
                live.remove(item)
                self.executor.release(item.slot)
                finished.append(self._finish_record(trajectory, writer, bar))
        bar.close()
        return finished

    def close(self) -> None:
        """Close the env instances kept for reuse (and the executor's threads or actors)."""
        self.executor.close()

    # -- pieces -------------------------------------------------------------------------------------
    def _advance(self, live: list[_Live]) -> list[tuple[_Live, Trajectory]]:
        self._round += 1
        prompts = [self.prompt_of(item) for item in live]
        groups: dict[str, list[int]] = defaultdict(list)
        for i, prompt in enumerate(prompts):
            groups[prompt].append(i)
        params = SamplingParams(temperature=self.config.temperature, top_p=self.config.top_p,
                                max_tokens=self.config.max_tokens or self.template.max_tokens, stop=self.template.stop,
                                seed=seed_of(self.config.seed, self._round, live[0].spec.key))
        texts: list[tuple[str, bool] | BaseException] = [RuntimeError("no completion")] * len(live)
        by_size: dict[int, list[str]] = defaultdict(list)  # prompts with n copies -> one generate(n=n)
        for prompt, idx in groups.items():
            by_size[len(idx)].append(prompt)
        try:
            for n, same in by_size.items():
                for prompt, completions in zip(same, self.llm.generate(same, params.with_(n=n), adapter=self.adapter)):
                    for i, c in zip(groups[prompt], completions):
                        texts[i] = (c.text, c.finish_reason == "stop")
        except Exception as exc:  # the model failed for this batch: those episodes end with a typed error
            texts = [t if isinstance(t, tuple) else exc for t in texts]

        moves = {i: self.template.parse(*t) for i, t in enumerate(texts) if isinstance(t, tuple)}
        results = dict(zip(moves, self.executor.step([(live[i].slot, action) for i, (_, action) in moves.items()])))
        done: list[tuple[_Live, Trajectory]] = []
        for i, item in enumerate(live):
            result = results.get(i, texts[i])
            if isinstance(result, BaseException):
                where = "env" if i in moves else "backend"
                done.append((item, self._record(item.spec, item.first_observation, item.steps, {}, error=_error(where, result))))
                continue
            model_text, action = moves[i]
            item.steps.append(StepRecord(model_text=model_text, action=action, observation=result.observation, reward=result.reward))
            item.observation = result.observation
            capped = len(item.steps) >= self.config.max_steps
            if result.terminated or result.truncated or capped:
                done.append((item, self._record(item.spec, item.first_observation, item.steps, result.feedback,
                                                truncated=result.truncated or (capped and not result.terminated))))
        return done

    def _record(self, spec: EpisodeSpec, observation: str, steps: list[StepRecord], feedback: dict[str, Any], *,
                truncated: bool = False, error: dict[str, str] | None = None) -> Trajectory:
        success = bool(feedback.get("success")) and error is None
        return Trajectory(key=spec.key, env_id=self.config.env_id, task_id=spec.task_id, observation=observation, steps=list(steps),
                          feedback=feedback, success=success, score=float(feedback.get("score", 0.0)) if error is None else 0.0,
                          origin=spec.origin, parent=spec.parent, reflection=spec.reflection, sample_index=spec.sample_index,
                          model=self.llm.model_name, adapter=self.adapter, template=self.template.name, seed=spec.seed,
                          config_hash=self.config_hash, truncated=truncated, error=error)

    @staticmethod
    def _finish_record(trajectory: Trajectory, writer: RecordWriter | None, bar: Any) -> Trajectory:
        if writer is not None:
            writer.write(trajectory)
        bar.update(1)
        return trajectory


def _error(where: str, exc: BaseException) -> dict[str, str]:
    name, module = (exc.type_name, exc.module) if isinstance(exc, RemoteEnvError) else (type(exc).__name__, type(exc).__module__ or "")
    if where == "env" and module.startswith("sandboxes"):
        where = "sandbox"
    return {"where": where, "type": name, "message": str(exc).split("\n")[0][:500]}


def sample_specs(task_ids: Sequence[str], k: int, *, seed: int = 0) -> list[EpisodeSpec]:
    """k sampled episodes per task, keyed `sampled/<task>/<i>`."""
    return [EpisodeSpec(key=f"sampled/{t}/{i}", task_id=str(t), sample_index=i, seed=seed_of(seed, t, i))
            for t in task_ids for i in range(k)]
