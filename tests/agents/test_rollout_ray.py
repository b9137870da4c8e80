"""The Ray executor on a real local Ray cluster: same records as the thread executor, contained actor death.

The cluster is started once for the module (2 CPUs, no dashboard) and shut down at the end. A
scripted model (deterministic, varied by prompt, sampling seed and sample index) stands in for the
LLM so that both executors see identical completions; one slow test uses the real embedded model.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium
import pytest
import ray

from rerest_agents.errors import DependencyNotInstalled
from rerest_agents.llm.base import LLM, Completion, SamplingParams
from rerest_agents.reflect import ReflectConfig, Reflector
from rerest_agents.rollout import EpisodeSpec, ExecutorConfig, Rollout, RolloutConfig, make_env, make_executor, sample_specs
from rerest_agents.rollout.executors import EnvFactory

LAYOUT = ("rerest/Layout-v0", {"steps": 2, "prompt_set": "generated-count-spatial"})
LAYOUT_TASKS = ["gen-count-train-00000", "gen-spatial-train-00000", "gen-count-train-00001"]
STOP_WORDS = {"and", "to", "on", "of", "the", "left", "right", "above", "below", "next", "near", "in", "with", "behind"}


class ScriptedLLM(LLM):
    """Deterministic stand-in: solves layouts from the caption (dropping an object now and then), guesses colours."""

    backend, model_name = "scripted", "scripted"

    def __init__(self, on_generate: Callable[[int], None] | None = None) -> None:
        self.calls, self.on_generate = 0, on_generate

    def _generate(self, prompts: list[str], params: SamplingParams, adapter: str | None) -> list[list[Completion]]:
        self.calls += 1
        if self.on_generate is not None:
            self.on_generate(self.calls)
        return [[Completion(_answer(p, _hash(p, params.seed, j))) for j in range(params.n)] for p in prompts]


def _hash(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def _answer(prompt: str, h: int) -> str:
    task = prompt[prompt.rfind("Instruction:"):]
    caption = re.findall(r"Caption: (.*)", task)
    if not caption:  # a generic-template env (the colour game) or a reflection prompt
        return f"Thought: I pick one.\nAction: {('red', 'green', 'blue')[h % 3]}"
    objects = re.findall(r"Objects: (.*)", task)
    if objects:
        pairs = [(name.strip(), int(n)) for name, n in re.findall(r"([a-z ]+) \((\d+)\)", objects[0])]
    else:
        pairs, words = [], caption[0].lower().split()
        for i, word in enumerate(words):
            if word.isdigit() or word in ("a", "an"):
                name = []
                for w in words[i + 1:]:
                    if w in STOP_WORDS or w.isdigit() or w in ("a", "an"):
                        break
                    name.append(w)
                pairs.append((" ".join(name), 1 if word in ("a", "an") else int(word)))
        if h % 4 == 0 and len(pairs) > 1:
            pairs = pairs[:-1]  # a wrong answer now and then
    if "coordinates" not in task.splitlines()[0]:
        return ", ".join(f"{name} ({n})" for name, n in pairs)
    width, x, out = 100 // max(1, sum(n for _, n in pairs)), 0, []
    for name, n in pairs:
        boxes = [f"({x + i * width}, 30, {x + (i + 1) * width - 2}, 70)" for i in range(n)]
        x += n * width
        out.append(f"{name} [{', '.join(boxes)}]")
    return " ".join(out)


USER_ENV = '''
"""A user's env package that rerest knows nothing about: guess a colour in three tries."""
import gymnasium

CREATED = []


class GuessEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self):
        CREATED.append(1)
        self.observation_space = gymnasium.spaces.Text(1000, charset="abcdefghijklmnopqrstuvwxyz .?:,")
        self.action_space = gymnasium.spaces.Text(1000)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.colour = ("red", "green", "blue")[int(self.np_random.integers(3))]
        return "guess my favourite colour: red, green or blue?", {}

    def step(self, action):
        won = self.colour in action.lower()
        return ("you win" if won else "no, try again"), float(won), won, False, {}


gymnasium.register("acme/RayGuess-v0", entry_point=GuessEnv, max_episode_steps=3)
'''


@pytest.fixture(scope="module")
def ray_cluster():
    """A real local Ray cluster for this module; yields its address."""
    context = ray.init(num_cpus=2, include_dashboard=False, resources={"rerest_test": 1})
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def user_env(tmp_path_factory):
    """`acme_ray_envs`, a package that registers `acme/RayGuess-v0` when imported (here, not in the actors)."""
    root = tmp_path_factory.mktemp("user")
    (root / "acme_ray_envs").mkdir()
    (root / "acme_ray_envs" / "__init__.py").write_text(textwrap.dedent(USER_ENV))
    sys.path.insert(0, str(root))
    import acme_ray_envs

    yield acme_ray_envs, str(root / "acme_ray_envs")
    sys.path.remove(str(root))
    sys.modules.pop("acme_ray_envs", None)
    gymnasium.registry.pop("acme/RayGuess-v0", None)


def _play(llm: LLM, config: RolloutConfig, specs: list[EpisodeSpec]) -> tuple[list[str], Rollout]:
    """Play `specs`; the records as sorted JSON lines, and the rollout (to inspect, then close)."""
    rollout = Rollout(llm, config)
    records = rollout.run(specs, progress=False)
    return sorted(t.to_json() for t in records), rollout


def test_layout_records_are_equal_under_ray_and_threads_and_actors_are_reused(ray_cluster):
    config = RolloutConfig(env_id=LAYOUT[0], env_kwargs=LAYOUT[1], temperature=1.0, width=3)
    specs = sample_specs(LAYOUT_TASKS, k=2)
    threaded, local = _play(ScriptedLLM(), config, specs)
    local.close()
    remote, rollout = _play(ScriptedLLM(), RolloutConfig(**{**config.__dict__, "executor": "ray"}), specs)
    assert type(rollout.executor).__name__ == "RayExecutor"
    assert len(rollout.executor.actors()) == 3  # six episodes, three actors: reused like the thread envs
    rollout.close()
    assert remote == threaded
    records = [json.loads(r) for r in remote]
    assert all(r["error"] is None and len(r["steps"]) == 2 for r in records)
    assert 0 < sum(r["success"] for r in records) < len(records)  # both verdicts took part in the comparison


def test_user_registered_env_runs_in_actors_of_a_cluster_joined_by_address(ray_cluster, user_env):
    """A separate driver joins the running cluster by address and ships the user's package with ray_runtime_env."""
    _module, package = user_env
    config = RolloutConfig(env_id="acme/RayGuess-v0", temperature=1.0, width=2)
    specs = sample_specs(["a", "b"], k=2)
    threaded, local = _play(ScriptedLLM(), config, specs)
    local.close()
    script = textwrap.dedent("""
        import json, sys
        address, package = sys.argv[1:3]
        sys.path[:0] = [package.rsplit("/", 1)[0], "."]
        import acme_ray_envs, ray
        from rerest_agents.rollout import EpisodeSpec, ExecutorConfig, Rollout, RolloutConfig, sample_specs
        from tests.agents.test_rollout_ray import ScriptedLLM
        executor = ExecutorConfig(kind="ray", ray_address=address, ray_runtime_env={"py_modules": [package]})
        rollout = Rollout(ScriptedLLM(), RolloutConfig(env_id="acme/RayGuess-v0", temperature=1.0, width=2, executor=executor))
        records = rollout.run(sample_specs(["a", "b"], k=2), progress=False)
        print(json.dumps({"records": sorted(t.to_json() for t in records), "made_here": len(acme_ray_envs.CREATED),
                          "joined": "rerest_test" in ray.cluster_resources(), "actors": len(rollout.executor.actors())}))
        rollout.close()
    """)
    done = subprocess.run([sys.executable, "-c", script, ray_cluster, package], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    remote = json.loads(done.stdout.strip().splitlines()[-1])
    assert remote["joined"] and remote["actors"] == 2  # the fixture's cluster, not a new one; actors reused
    assert remote["made_here"] == 0  # every env of that driver lived in an actor
    assert remote["records"] == threaded
    records = [json.loads(r) for r in threaded]
    assert all(r["error"] is None and r["template"] == "generic" for r in records)
    assert any(len(r["steps"]) > 1 for r in records) and any(r["success"] for r in records)


def test_reflector_replays_repairs_through_the_ray_executor(ray_cluster):
    config = RolloutConfig(env_id=LAYOUT[0], env_kwargs=LAYOUT[1], temperature=1.0, width=3)
    sampling = Rollout(ScriptedLLM(), config)
    sampled = sampling.run(sample_specs(LAYOUT_TASKS, k=2), progress=False)
    sampling.close()
    failures = [t for t in sampled if not t.success]
    assert failures
    repairs = {}
    for executor in ("thread", "ray"):
        reflector = Reflector(ScriptedLLM(), RolloutConfig(**{**config.__dict__, "executor": executor}), ReflectConfig())
        repairs[executor] = sorted(t.to_json() for t in reflector.repair(failures, progress=False))
        assert type(reflector.rollout.executor).__name__ == {"thread": "ThreadExecutor", "ray": "RayExecutor"}[executor]
        reflector.close()
    assert repairs["ray"] == repairs["thread"] and len(repairs["ray"]) == len(failures)


def test_an_actor_killed_mid_run_fails_its_episode_only(ray_cluster):
    config = RolloutConfig(env_id=LAYOUT[0], env_kwargs=LAYOUT[1], temperature=1.0, width=3, executor="ray")
    specs = sample_specs(LAYOUT_TASKS, k=2)
    holder: dict[str, Rollout] = {}

    def kill_first_actor(call: int) -> None:  # after the first resets, before the first steps
        if call == 1:
            victim = holder["rollout"].executor.actors()[0]
            ray.kill(victim)
            with pytest.raises(ray.exceptions.RayActorError):  # dead before the step is sent (ray.kill is asynchronous)
                for _ in range(300):
                    ray.get(victim.__ray_ready__.remote())
                    time.sleep(0.1)

    rollout = holder["rollout"] = Rollout(ScriptedLLM(on_generate=kill_first_actor), config)
    out = rollout.run(specs, progress=False)
    assert sorted(t.key for t in out) == sorted(s.key for s in specs)
    broken = [t for t in out if t.error is not None]
    assert [t.key for t in broken] == [specs[0].key]  # the first actor played the first episode
    assert broken[0].error["where"] == "env" and broken[0].error["type"] in ("ActorDiedError", "RayActorError")
    assert not broken[0].success
    for t in out:
        if t is not broken[0]:
            assert len(t.steps) == 2 and t.feedback["message"]
    assert len(rollout.executor.actors()) == 3  # the dead actor was replaced, not reused
    again = rollout.run(sample_specs(["gen-spatial-train-00001"], k=3), progress=False)
    assert [t.error for t in again] == [None] * 3
    rollout.close()


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "rerest_agents.rollout.executors.ray_executor", raising=False)
    with pytest.raises(DependencyNotInstalled, match=r"pip install 'rerest\[ray\]'"):
        make_executor(ExecutorConfig(kind="ray"), EnvFactory.of("rerest/Layout-v0", {}))


def test_run_config_and_cli_choose_the_executor(tmp_path):
    from typer.testing import CliRunner

    from rerest_agents.cli import app
    from rerest_agents.errors import ConfigError
    from rerest_agents.pipeline import Pipeline, load_config

    config = load_config(overrides={"executor.kind": "ray", "executor.ray_address": "auto"})
    pipeline = Pipeline(config, tmp_path / "run", llm=ScriptedLLM(), progress=False)
    for split in ("train", "test"):  # sampling, repairs (same config) and evaluation
        assert pipeline._rollout_config(split).executor == ExecutorConfig(kind="ray", ray_address="auto")
    threaded = Pipeline(load_config(overrides={"executor.ray_address": "auto"}), tmp_path / "run", llm=ScriptedLLM(), progress=False)
    assert threaded.hash == pipeline.hash  # a run resumes under either executor: the records are the same
    with pytest.raises(ConfigError, match="different config"):
        Pipeline(load_config(overrides={"executor.kind": "ray", "seed": 1}), tmp_path / "run", llm=ScriptedLLM(), progress=False)
    with pytest.raises(ConfigError, match="Did you mean 'ray'"):
        load_config(overrides={"executor.kind": "rey"})
    with pytest.raises(ConfigError, match="Unknown key 'executor.adress'"):
        load_config(overrides={"executor.adress": "auto"})
    result = CliRunner().invoke(app, ["run", "--executor", "rey", "--run-dir", str(tmp_path / "cli")])
    assert result.exit_code == 2 and "Unknown executor kind 'rey'. Did you mean 'ray'?" in result.output
    assert not (tmp_path / "cli").exists()


@pytest.mark.slow
def test_real_model_records_are_equal_under_ray_and_threads(ray_cluster, llm):
    config = RolloutConfig(env_id="rerest/Layout-v0", env_kwargs={"steps": 1, "prompt_set": "generated-count"},
                           temperature=0.0, max_tokens=24, few_shot=False, width=1)
    env = make_env("rerest/Layout-v0", steps=1, prompt_set="generated-count")
    specs = sample_specs(list(env.unwrapped.task_ids[:2]), k=1)
    env.close()
    threaded, local = _play(llm, config, specs)
    local.close()
    remote, rollout = _play(llm, RolloutConfig(**{**config.__dict__, "executor": "ray"}), specs)
    rollout.close()
    assert remote == threaded
    assert all(json.loads(r)["error"] is None and json.loads(r)["model"] == "google/gemma-3-270m" for r in remote)
