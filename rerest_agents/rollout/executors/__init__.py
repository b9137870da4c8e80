"""Executors: where the env instances of a rollout live and step (`thread` here, `ray` on a cluster)."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium

from rerest_agents.errors import DependencyNotInstalled
from rerest_agents.rollout.executors.base import (EXECUTORS, EnvExecutor, EnvFactory, ExecutorConfig, RemoteEnvError,
                                                  StepTimeout, Transition)
from rerest_agents.rollout.executors.thread import ThreadExecutor


def make_executor(config: ExecutorConfig, make: Callable[[], gymnasium.Env], *, threads: int = 2) -> EnvExecutor:
    """The executor `config.kind` names, building envs with `make` (Ray is imported only here, only for `ray`)."""
    if config.kind == "thread":
        return ThreadExecutor(make, threads, config.step_timeout)
    try:
        from rerest_agents.rollout.executors.ray_executor import RayExecutor
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "ray":
            raise
        raise DependencyNotInstalled("The ray executor needs Ray, which is not installed: pip install 'rerest[ray]'.") from None
    return RayExecutor(make, config)


__all__ = ["EXECUTORS", "EnvExecutor", "EnvFactory", "ExecutorConfig", "RemoteEnvError", "StepTimeout", "ThreadExecutor", "Transition",
           "make_executor"]
