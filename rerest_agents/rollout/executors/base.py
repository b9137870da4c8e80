"""The executor contract: where env instances live and step, apart from the LLM that drives them.

The rollout engine keeps the model in the driver (batched generation is its job) and hands env work
to an `EnvExecutor` in batches: reset these episodes, step these actions, this env is free again.
Executors answer every request with a result or the exception it raised, never by raising, so that
one broken env is one broken episode (DESIGN §3, habit 15).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import gymnasium

from rerest_agents.errors import ConfigError
from rerest_agents.rollout.envs import feedback_dict, make_env

EXECUTORS = ("thread", "ray")
#: `ExecutorConfig.step_timeout` when a config does not set it: about ten times the longest step our
#: envs take by design (GQA's 10 s program limit, a HumanEval program's time limit), so that a hung
#: user env costs one abandoned episode and two minutes, never the run.
DEFAULT_STEP_TIMEOUT = 120.0


@dataclass
class ExecutorConfig:
    """Where env instances live and step (`RolloutConfig.executor`, the `executor:` section of a run).

    Attributes:
        kind: `thread` (env instances in this process, stepped by `RolloutConfig.env_threads` threads)
            or `ray` (one Ray actor per env instance, on a local or remote Ray cluster).
        ray_address: Ray cluster to join when this process has not called `ray.init` itself:
            `auto` (the one `ray start` runs on this machine), `ray://host:10001` (Ray Client), or
            None (`$RAY_ADDRESS` if set, else start a local cluster).
        ray_runtime_env: Ray `runtime_env` given to `ray.init` when the executor connects, to ship
            code that exists only on this machine, e.g. `{"py_modules": ["./my_envs"]}` or
            `{"working_dir": "."}`, plus `env_vars`, `pip`. In a process that called `ray.init`
            itself it applies per actor, where Ray takes no local paths (pass them to your `ray.init`).
        ray_actor_options: Extra `.options()` of each env actor (`num_cpus`, `resources`,
            `scheduling_strategy`; the default strategy is `SPREAD` over the cluster's nodes).
        step_timeout: Seconds an `env.step` may take (default `DEFAULT_STEP_TIMEOUT`, 120; None: no
            limit). A step that takes longer ends its episode with a `StepTimeout` error; its env is
            abandoned (thread: the stuck thread is left behind and a fresh pool steps the others;
            ray: the actor is killed).
    """

    kind: str = "thread"
    ray_address: str | None = None
    ray_runtime_env: dict[str, Any] = field(default_factory=dict)
    ray_actor_options: dict[str, Any] = field(default_factory=dict)
    step_timeout: float | None = DEFAULT_STEP_TIMEOUT

    def __post_init__(self) -> None:
        if self.step_timeout is not None and (isinstance(self.step_timeout, bool) or not isinstance(self.step_timeout, (int, float))
                                              or self.step_timeout <= 0):
            raise ConfigError(f"executor.step_timeout must be a number of seconds > 0 or null, got {self.step_timeout!r}.")
        if self.kind not in EXECUTORS:
            close = difflib.get_close_matches(str(self.kind), EXECUTORS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"Unknown executor kind {self.kind!r}.{hint} Valid kinds: {list(EXECUTORS)}.")


@dataclass(frozen=True)
class Transition:
    """What one `env.step` gave; the feedback dict is built only when read (the engine reads it at the end)."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    #: The env's `info`; only `info["feedback"]` is used.
    info: dict[str, Any]

    @cached_property
    def feedback(self) -> dict[str, Any]:
        """The episode's feedback as of this step, as a plain dict (`feedback_dict`)."""
        return feedback_dict(self.info, self.reward, self.terminated)

    def plain(self) -> Transition:
        """A copy that pickles anywhere (to cross a process or machine boundary): info cut to the plain feedback."""
        return replace(self, info={"feedback": self.feedback})


class StepTimeout(TimeoutError):
    """An `env.step` that did not return within `ExecutorConfig.step_timeout` seconds."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"env.step did not return within {seconds:g} s (executor.step_timeout); the env was abandoned")


class RemoteEnvError(Exception):
    """An env call that failed in another process; keeps the original type's name and module, so records read alike."""

    def __init__(self, type_name: str, module: str, message: str) -> None:
        super().__init__(type_name, module, message)  # all three in args: the error pickles back intact
        self.type_name, self.module, self.message = type_name, module, message

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of(cls, exc: BaseException) -> RemoteEnvError:
        return cls(type(exc).__name__, type(exc).__module__ or "", str(exc))


@dataclass(frozen=True)
class EnvFactory:
    """`make_env(env_id, **kwargs)`, carrying the driver's `EnvSpec` of the id when it has one.

    A process that never imported the module that registered a user's env id (a Ray actor) builds
    the env from that spec instead; it then needs only the code the entry point names.
    """

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    spec: gymnasium.envs.registration.EnvSpec | None = None

    @classmethod
    def of(cls, env_id: str, kwargs: dict[str, Any]) -> EnvFactory:
        return cls(env_id, dict(kwargs), gymnasium.registry.get(env_id.rpartition(":")[2]))

    def __call__(self) -> gymnasium.Env:
        if self.spec is not None and self.spec.id not in gymnasium.registry:
            return gymnasium.make(self.spec, **self.kwargs)
        return make_env(self.env_id, **self.kwargs)


# -- the two env calls, shared by every executor (in this process or inside an actor) ------------
def reset_env(env: gymnasium.Env | None, make: Callable[[], gymnasium.Env], seed: int | None,
              options: dict[str, Any]) -> tuple[gymnasium.Env, str]:
    """Reset `env` (made first when None); returns the env and its first observation."""
    env = env or make()
    observation, _info = env.reset(seed=seed, options=options)
    return env, str(observation)


def step_env(env: gymnasium.Env, action: str) -> Transition:
    observation, reward, terminated, truncated, info = env.step(action)
    transition = Transition(str(observation), float(reward), bool(terminated), bool(truncated), info)
    if transition.terminated or transition.truncated:
        transition.feedback  # noqa: B018 - built here, in the executor's worker, while other envs step
    return transition


class EnvExecutor(ABC):
    """Makes, resets, steps and closes env instances for the rollout engine.

    A slot is the executor's opaque handle of one env instance. The engine resets a batch of
    episodes (each gets a slot, reused from finished episodes where possible), steps the slots of
    the live episodes together, and releases a slot when its episode ends.
    """

    @abstractmethod
    def reset(self, requests: Sequence[tuple[int | None, dict[str, Any]]]) -> list[tuple[Any, str] | BaseException]:
        """Reset one env per `(seed, options)`: `(slot, first observation)` or the error (no slot then)."""

    @abstractmethod
    def step(self, moves: Sequence[tuple[Any, str]]) -> list[Transition | BaseException]:
        """Step every `(slot, action)` at once; a `Transition` or the error, in order."""

    @abstractmethod
    def release(self, slot: Any) -> None:
        """The slot's episode is over: its env may serve the next one."""

    @abstractmethod
    def close(self) -> None:
        """Close every env instance (and whatever holds them)."""
