"""Rollouts, records and reflection end to end: the real model playing real envs."""

from __future__ import annotations

import gymnasium
import rerest_envs  # noqa: F401  (registers the rerest/ ids when this file runs alone)
import pytest

from rerest_agents.llm.base import LLM
from rerest_agents.reflect import ReflectConfig, Reflector
from rerest_agents.rollout import RecordWriter, Rollout, RolloutConfig, read_records, sample_specs

pytestmark = pytest.mark.slow


def test_k_samples_on_mbpp_are_scored_recorded_and_resumable(llm, tmp_path):
    config = RolloutConfig(env_id="rerest/MBPP-v0", env_kwargs={"split": "prompt"}, temperature=1.0, max_tokens=48, width=4)
    rollout = Rollout(llm, config)
    specs = sample_specs(["2", "3"], k=2)
    path = tmp_path / "sampled.jsonl"
    with RecordWriter(path) as writer:
        out = rollout.run(specs[:3], writer, progress=False)  # as if killed after three episodes
    assert len(out) == 3
    with RecordWriter(path) as writer:
        rest = rollout.run(specs, writer, progress=False)
    assert [t.key for t in rest] == ["sampled/3/1"]
    records = read_records(path)
    assert sorted(r.key for r in records) == sorted(s.key for s in specs)
    for r in records:
        assert r.env_id == "rerest/MBPP-v0" and r.origin == "sampled" and r.model == "google/gemma-3-270m"
        assert r.steps and r.steps[0].action.startswith("```python\n")
        assert r.feedback["message"] and r.success == r.feedback["success"] and 0.0 <= r.score <= 1.0
    rollout.close()


def test_reflector_repairs_are_replayed_and_verified_in_the_env(llm, tmp_path):
    config = RolloutConfig(env_id="rerest/Layout-v0", env_kwargs={"steps": 1, "prompt_set": "generated-count"},
                           temperature=1.0, max_tokens=40, width=4)
    rollout = Rollout(llm, config)
    env = gymnasium.make("rerest/Layout-v0", steps=1, prompt_set="generated-count")
    tasks = list(env.unwrapped.task_ids[:2])
    env.close()
    with RecordWriter(tmp_path / "records.jsonl") as writer:
        sampled = rollout.run(sample_specs(tasks, k=2), writer, progress=False)
        failures = [t for t in sampled if not t.success]
        assert failures, "the base model solved every layout: pick harder tasks"
        reflector = Reflector(llm, config, ReflectConfig(temperature=0.7, reflection_tokens=32))
        repairs = reflector.repair(failures, writer, progress=False)
        again = reflector.repair(failures, writer, progress=False)  # resumed: nothing left to do
    assert again == []
    assert len(repairs) == len(failures)
    parents = {t.key for t in failures}
    for repair in repairs:
        assert repair.origin == "repaired" and repair.parent in parents and repair.key == f"repaired/{repair.parent}"
        assert repair.reflection is not None
        assert isinstance(repair.success, bool) and repair.feedback["message"] is not None  # verdict from the env itself
    reflector.close()
    rollout.close()


def _layout_failures(llm, task_slice: slice, max_tokens: int, width: int):
    """A layout rollout config and the failures of k=2 samples on a few generated count prompts."""
    config = RolloutConfig(env_id="rerest/Layout-v0", env_kwargs={"steps": 1, "prompt_set": "generated-count"},
                           temperature=1.0, max_tokens=max_tokens, width=width)
    env = gymnasium.make("rerest/Layout-v0", steps=1, prompt_set="generated-count")
    tasks = list(env.unwrapped.task_ids[task_slice])
    env.close()
    rollout = Rollout(llm, config)
    failures = [t for t in rollout.run(sample_specs(tasks, k=2), progress=False) if not t.success]
    rollout.close()
    return config, failures


def test_several_attempts_per_failure_stop_at_the_first_verified_repair(llm, tmp_path):
    config, failures = _layout_failures(llm, slice(4, 8), max_tokens=40, width=8)
    assert failures, "the base model solved every layout: pick harder tasks"
    path = tmp_path / "repaired.jsonl"
    reflector = Reflector(llm, config, ReflectConfig(reflection_tokens=24, attempts=3))
    with RecordWriter(path) as writer:
        reflector.repair(failures, writer, progress=False)
        assert reflector.repair(failures, writer, progress=False) == []  # resumed: nothing left
    reflector.close()
    records = read_records(path)
    for failure in failures:
        tries = [r for r in records if r.parent == failure.key]
        keys = [f"repaired/{failure.key}", f"repaired/{failure.key}#2", f"repaired/{failure.key}#3"]
        assert [r.key for r in tries] == keys[:len(tries)]  # tries in order, no gaps
        assert sum(r.success for r in tries) <= 1 and (len(tries) == 3 or tries[-1].success)  # stop at the first win
        if len(tries) > 1:
            assert len({r.reflection for r in tries}) > 1  # a later try draws a new reflection
    with pytest.raises(ValueError, match="attempts"):
        ReflectConfig(attempts=0)


def test_direct_repairs_write_no_reflection_and_train_the_reflector_on_repairs_only(llm, tmp_path):
    from rerest_agents.export import reflector_sft

    config, failures = _layout_failures(llm, slice(4, 8), max_tokens=40, width=8)
    assert failures, "the base model solved every layout: pick harder tasks"
    reflect = ReflectConfig(attempts=2, direct=True, repair_shows_attempt=False)
    reflector = Reflector(llm, config, reflect)
    assert reflector.reflect(failures) == [""] * len(failures)  # nothing generated
    repairs = reflector.repair(failures[:3], progress=False)
    reflector.close()
    assert repairs and all(r.reflection == "" and r.origin == "repaired" for r in repairs)
    twice = [f.key for f in failures[:3] if sum(r.parent == f.key for r in repairs) == 2]
    pairs = [[r.steps[0].action for r in repairs if r.parent == key] for key in twice]
    assert not pairs or any(a != b for a, b in pairs)  # a second try is a fresh draw (same prompt, new seed)
    kinds = {r["kind"] for r in reflector_sft(failures + repairs, reflector.template, reflect)}
    assert "reflection" not in kinds


class _KilledHere(Exception):
    pass


class _DiesAfter(LLM):
    """The real model, until its `calls`-th generate call, which fails as if the process were killed."""

    def __init__(self, llm: LLM, calls: int) -> None:
        self.llm, self.left = llm, calls
        self.backend, self.model_name = llm.backend, llm.model_name

    def _generate(self, prompts, params, adapter):
        self.left -= 1
        if self.left <= 0:
            raise _KilledHere
        return self.llm.generate(prompts, params, adapter=adapter)


def test_reflector_records_each_chunk_before_reflecting_on_the_next(llm, tmp_path):
    config, failures = _layout_failures(llm, slice(2, 4), max_tokens=32, width=4)
    assert len(failures) >= 2, "the base model solved the layouts: pick harder tasks"
    path = tmp_path / "repaired.jsonl"
    # chunk 1: reflect (call 1), replay (call 2); chunk 2: reflect (call 3) dies
    dying = Reflector(_DiesAfter(llm, calls=3), config, ReflectConfig(reflection_tokens=16))
    with RecordWriter(path) as writer, pytest.raises(_KilledHere):
        dying.repair(failures, writer, progress=False, chunk=1)
    dying.close()
    assert [r.key for r in read_records(path)] == [f"repaired/{failures[0].key}"]
    resumed = Reflector(llm, config, ReflectConfig(reflection_tokens=16))
    with RecordWriter(path) as writer:
        rest = resumed.repair(failures, writer, progress=False, chunk=1)
    resumed.close()
    assert [t.parent for t in rest] == [t.key for t in failures[1:]]
    assert sorted(r.key for r in read_records(path)) == sorted(f"repaired/{t.key}" for t in failures)


class GuessEnv(gymnasium.Env):
    """A user's env that rerest knows nothing about: guess a colour in three tries."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = gymnasium.spaces.Text(1000, charset="abcdefghijklmnopqrstuvwxyz .?:,")
        self.action_space = gymnasium.spaces.Text(1000)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return "guess my favourite colour: red, green or blue?", {}

    def step(self, action):
        won = "blue" in action.lower()
        return ("you win" if won else "no, try again"), float(won), won, False, {}


def test_generic_template_drives_a_user_registered_env(llm):
    gymnasium.register("acme/Guess-v0", entry_point=GuessEnv, max_episode_steps=3)
    config = RolloutConfig(env_id="acme/Guess-v0", temperature=1.0, max_tokens=16, width=2)
    rollout = Rollout(llm, config)
    out = rollout.run(sample_specs(["only"], k=2), progress=False)
    assert len(out) == 2 and {t.template for t in out} == {"generic"}
    for t in out:
        assert 1 <= len(t.steps) <= 3 and t.error is None
        assert t.success == (t.steps[-1].observation == "you win")
        assert t.truncated == (not t.success)
    rollout.close()
