"""`RayExecutor`: each env instance lives in its own Ray actor, anywhere on a Ray cluster.

One actor per env instance, not actors holding several envs, because:
- a crash is contained to one episode: a dead actor (node lost, OOM kill, segfault in a native
  game engine, `ray.kill`) fails exactly the episode it was playing, with a typed error
  `where="env"`, and the run goes on with a fresh actor;
- Ray places and spreads actors one by one, so envs spread over machines at the finest grain, and
  every live episode steps concurrently without threads inside actors;
- env state is per instance anyway (DESIGN §1), so no batching inside an actor is lost.
The cost is one worker process per live episode, bounded by `RolloutConfig.width`; actors are
reused across episodes exactly as the thread executor reuses envs.

The LLM stays in the driver; only actions go out and plain `Transition`s come back. The env is
built inside the actor from an `EnvFactory` that carries the driver's `EnvSpec`, so ids that a
user registered in the driver work when the entry point's code is importable on the workers
(installed, or shipped with `ExecutorConfig.ray_runtime_env`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium
import ray
from ray.exceptions import RayActorError, RayError

from rerest_agents.rollout.executors.base import (EnvExecutor, ExecutorConfig, RemoteEnvError, StepTimeout, Transition, reset_env,
                                                  step_env)


class EnvActor:
    """Holds one env instance in a Ray worker; env failures come back as `RemoteEnvError` values."""

    def __init__(self, make: Callable[[], gymnasium.Env]) -> None:
        self._make = make
        self._env: gymnasium.Env | None = None

    def reset(self, seed: int | None, options: dict[str, Any]) -> str | RemoteEnvError:
        try:
            self._env, observation = reset_env(self._env, self._make, seed, options)
            return observation
        except Exception as exc:
            return RemoteEnvError.of(exc)

    def step(self, action: str) -> Transition | RemoteEnvError:
        try:
            assert self._env is not None, "step before reset"
            return step_env(self._env, action).plain()
        except Exception as exc:
            return RemoteEnvError.of(exc)

    def close(self) -> None:
        if self._env is not None:
            self._env.close()


@dataclass(eq=False)
class _Slot:
    actor: Any
    dead: bool = False


class RayExecutor(EnvExecutor):
    """Env instances in Ray actors (see module docstring); joins or starts a Ray cluster."""

    def __init__(self, make: Callable[[], gymnasium.Env], config: ExecutorConfig) -> None:
        options: dict[str, Any] = {"scheduling_strategy": "SPREAD", **config.ray_actor_options}
        if not ray.is_initialized():  # the job's runtime_env: Ray uploads local code (py_modules, working_dir) only here
            ray.init(address=config.ray_address, runtime_env=config.ray_runtime_env or None)
        elif config.ray_runtime_env:  # this process joined Ray itself: per actor (URIs, pip, env_vars; no local paths)
            options["runtime_env"] = config.ray_runtime_env
        self._actor = ray.remote(EnvActor).options(**options)
        self._make_ref = ray.put(make)
        self._step_timeout = config.step_timeout
        self._free: list[_Slot] = []
        self._all: list[_Slot] = []

    def actors(self) -> list[Any]:
        """Handles of the live actors holding env instances (busy or free), e.g. to inspect or kill one."""
        return [s.actor for s in self._all if not s.dead]

    def reset(self, requests: Sequence[tuple[int | None, dict[str, Any]]]) -> list[tuple[Any, str] | BaseException]:
        slots: list[_Slot] = []
        reused: list[bool] = []
        for _ in requests:
            reused.append(bool(self._free))
            slots.append(self._free.pop() if self._free else self._new())
        results = self._gather(slots, [s.actor.reset.remote(seed, options) for s, (seed, options) in zip(slots, requests)])
        for i, result in enumerate(results):  # an idle actor that died since its last episode: one retry, fresh actor
            if reused[i] and isinstance(result, RayActorError):
                self.release(slots[i])
                slots[i] = self._new()
                results[i] = self._gather([slots[i]], [slots[i].actor.reset.remote(*requests[i])])[0]
        out: list[tuple[Any, str] | BaseException] = []
        for slot, result in zip(slots, results):
            if isinstance(result, str):
                out.append((slot, result))
            else:
                self.release(slot)
                out.append(result)
        return out

    def step(self, moves: Sequence[tuple[Any, str]]) -> list[Transition | BaseException]:
        slots, refs = [s for s, _ in moves], [s.actor.step.remote(action) for s, action in moves]
        if self._step_timeout is None or not refs:
            return self._gather(slots, refs)
        # actors step in parallel, so every step gets the same wall-clock allowance
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=self._step_timeout)
        done = {ref.hex() for ref in ready}
        answered = iter(self._gather([s for s, r in zip(slots, refs) if r.hex() in done], [r for r in refs if r.hex() in done]))
        out: list[Transition | BaseException] = []
        for slot, ref in zip(slots, refs):
            if ref.hex() in done:
                out.append(next(answered))
            else:  # hung: the actor is killed when the engine releases the slot
                slot.dead = True
                out.append(StepTimeout(self._step_timeout))
        return out

    def release(self, slot: Any) -> None:
        if slot.dead:
            self._all.remove(slot)
            _kill(slot.actor)
        else:
            self._free.append(slot)

    def close(self) -> None:
        live = [s for s in self._all if not s.dead]
        try:
            ray.get([s.actor.close.remote() for s in live], timeout=30)
        except RayError:
            pass
        for slot in self._all:
            _kill(slot.actor)
        self._free, self._all = [], []

    # -- pieces -------------------------------------------------------------------------------------
    def _new(self) -> _Slot:
        slot = _Slot(self._actor.remote(self._make_ref))
        self._all.append(slot)
        return slot

    @staticmethod
    def _gather(slots: Sequence[_Slot], refs: Sequence[Any]) -> list[Any]:
        """`ray.get` of every call at once; on a failure, each call alone (a dead actor fails only its own)."""
        try:
            return list(ray.get(list(refs)))
        except RayError:
            pass
        out: list[Any] = []
        for slot, ref in zip(slots, refs):
            try:
                out.append(ray.get(ref))
            except RayError as exc:
                slot.dead = slot.dead or isinstance(exc, RayActorError)
                out.append(exc)
        return out


def _kill(actor: Any) -> None:
    try:
        ray.kill(actor)
    except (RayError, ValueError):  # already gone
        pass
