"""`executor.step_timeout`: a hung env.step ends its own episode with a StepTimeout; the others go on."""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium
import pytest
import yaml

from rerest_agents.errors import ConfigError
from rerest_agents.llm.base import LLM, Completion, SamplingParams
from rerest_agents.rollout import ExecutorConfig, Rollout, RolloutConfig, sample_specs
from tests.agents import hang_env

ENV_ID = "acme/Hang-v0"
TASKS = ["0", "1", "2", "3", "4"]  # odd tasks hang


class HangOnOddTasks(LLM):
    """Stand-in model: answers `hang` to odd task numbers, `done` to even ones."""

    backend, model_name = "scripted", "scripted"

    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        def answer(prompt: str) -> str:
            task = int(prompt.rsplit("task ", 1)[1].split(":")[0])
            return f"Thought: ok.\nAction: {'hang' if task % 2 else 'done'}"

        return [[Completion(answer(p))] * params.n for p in prompts]


@pytest.fixture()
def hang_env_id():
    hang_env.RELEASE.clear()
    gymnasium.register(ENV_ID, entry_point=hang_env.HangEnv, max_episode_steps=2)
    yield ENV_ID
    hang_env.RELEASE.set()  # let the abandoned steps return
    gymnasium.registry.pop(ENV_ID, None)


def play(executor: ExecutorConfig) -> tuple[list, float, Rollout]:
    rollout = Rollout(HangOnOddTasks(), RolloutConfig(env_id=ENV_ID, width=len(TASKS), env_threads=2, executor=executor))
    start = time.monotonic()
    out = rollout.run(sample_specs(TASKS, k=1), progress=False)
    return sorted(out, key=lambda t: t.task_id), time.monotonic() - start, rollout


def check(records: list, seconds: float) -> None:
    assert seconds < hang_env.HANG_SECONDS / 4, "the rollout waited for the hung steps"
    for t in records:
        if int(t.task_id) % 2:
            assert t.error["where"] == "env" and t.error["type"] == "StepTimeout" and "step_timeout" in t.error["message"]
            assert not t.success
        else:
            assert t.error is None and t.success


def test_thread_executor_abandons_hung_steps_and_keeps_going(hang_env_id):
    records, seconds, rollout = play(ExecutorConfig(step_timeout=1.0))
    check(records, seconds)
    again = rollout.run(sample_specs(["6", "8"], k=1), progress=False)  # a fresh pool: the stuck threads hold the old one
    assert [t.success for t in again] == [True, True]
    assert len(rollout.executor._free) == 3  # the two hung envs were not put back for reuse
    rollout.close()


def test_ray_executor_kills_the_actors_of_hung_steps(hang_env_id):
    ray = pytest.importorskip("ray")
    import cloudpickle

    cloudpickle.register_pickle_by_value(hang_env)  # the actors cannot import the tests package
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        records, seconds, rollout = play(ExecutorConfig(kind="ray", step_timeout=5.0))
        check(records, seconds)
        assert len(rollout.executor.actors()) == 3  # the actors of hung steps were killed
        rollout.close()
    finally:
        ray.shutdown()
        cloudpickle.unregister_pickle_by_value(hang_env)


@pytest.mark.parametrize("bad", [0, -1, "soon", True])
def test_step_timeout_must_be_positive_seconds(bad):
    with pytest.raises(ConfigError, match="step_timeout"):
        ExecutorConfig(step_timeout=bad)


# -- the default (issue 16): a config that says nothing of step_timeout still bounds every step ----------

def test_a_config_without_step_timeout_gets_the_default(tmp_path):
    from rerest_agents.pipeline import load_config
    from rerest_agents.pipeline.config import RunConfig
    from rerest_agents.rollout.executors import make_executor
    from rerest_agents.rollout.executors.base import DEFAULT_STEP_TIMEOUT

    assert DEFAULT_STEP_TIMEOUT == 120.0
    assert RunConfig().executor.step_timeout == DEFAULT_STEP_TIMEOUT
    bare, ray_only, unbounded = (tmp_path / f"{n}.yaml" for n in ("bare", "ray", "none"))
    bare.write_text("env_id: rerest/HotpotQA-v0\n")
    ray_only.write_text("env_id: rerest/HotpotQA-v0\nexecutor: {kind: ray}\n")
    unbounded.write_text("env_id: rerest/HotpotQA-v0\nexecutor: {step_timeout: null}\n")
    assert load_config(bare).executor.step_timeout == DEFAULT_STEP_TIMEOUT
    assert load_config(ray_only).executor == ExecutorConfig(kind="ray", step_timeout=DEFAULT_STEP_TIMEOUT)
    assert load_config(unbounded).executor.step_timeout is None
    assert load_config(bare, {"executor.step_timeout": 5}).executor.step_timeout == 5
    assert RolloutConfig(env_id=ENV_ID, executor="ray").executor.step_timeout == DEFAULT_STEP_TIMEOUT
    assert make_executor(ExecutorConfig(), lambda: None)._step_timeout == DEFAULT_STEP_TIMEOUT
    # the executor is no part of a run's identity: runs started before the default resume as they were
    assert load_config(bare).results_dict() == load_config(unbounded).results_dict()


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_preset_bounds_its_steps(path):
    from rerest_agents.pipeline import load_config

    assert yaml.safe_load(path.read_text())["executor"]["step_timeout"] == 120  # said in the file, not only defaulted
    assert load_config(path).executor.step_timeout == 120
