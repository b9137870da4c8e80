"""The whole Re-ReST run end to end on the embedded model, tiny budgets: stages, resume, report."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium
import pytest

from rerest_agents.agent import template_for
from rerest_agents.errors import ConfigError
from rerest_agents.llm import LLM
from rerest_agents.llm.base import Completion
from rerest_agents.pipeline import Pipeline, ReflectorModelConfig, RunDir, load_config


def test_config_errors_are_one_line_and_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'sample'"):
        load_config(overrides={"sampel.k": 2})
    with pytest.raises(ConfigError, match="Unknown key 'sample.kk'"):
        load_config(overrides={"sample.kk": 2})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    assert load_config(overrides={"sample.k": 3}).sample.k == 3


def test_the_layout_cpu_file_is_the_embedded_default_and_paper_presets_show_the_attempt():
    from pathlib import Path

    configs = Path(__file__).resolve().parents[2] / "configs"
    assert load_config(configs / "layout-cpu.yaml").results_dict() == load_config(None).results_dict()
    assert not load_config(None).reflect.repair_shows_attempt
    for preset in sorted(configs.glob("*-paper.yaml")):
        assert load_config(preset).reflect.repair_shows_attempt, preset.name


def test_a_partial_section_keeps_the_run_defaults_for_what_it_leaves_out():
    """`--set reflect.temperature=0.5` on the embedded default must not fall back to the bare
    ReflectConfig (one reflection, attempt shown) nor TrainConfig's learning rate."""
    c = load_config(None, {"reflect.temperature": 0.5, "train.epochs": 1.0})
    assert (c.reflect.direct, c.reflect.attempts, c.reflect.repair_shows_attempt, c.reflect.temperature) == (True, 4, False, 0.5)
    assert (c.train.learning_rate, c.train.max_length, c.train.epochs) == (3e-4, 768, 1.0)
    for preset in ("mbpp-cpu", "mbpp-paper"):  # the other presets say what they want: one reflection per failure
        r = load_config(Path(__file__).resolve().parents[2] / "configs" / f"{preset}.yaml").reflect
        assert (r.direct, r.attempts, r.repair_shows_attempt) == (False, 1, True), preset


def test_trained_prompts_default_to_the_sampling_prompts_and_unset_keeps_the_hash():
    assert load_config().trained_prompt_few_shot is True
    assert load_config(overrides={"few_shot": False}).trained_prompt_few_shot is False
    assert load_config(overrides={"trained_few_shot": False}).trained_prompt_few_shot is False
    assert "trained_few_shot" not in load_config().results_dict()
    assert load_config(overrides={"trained_few_shot": False}).results_dict()["trained_few_shot"] is False


def test_a_run_dir_refuses_a_different_config(tmp_path, llm):
    Pipeline(load_config(), tmp_path, llm=llm, progress=False)
    with pytest.raises(ConfigError, match="different config"):
        Pipeline(load_config(overrides={"seed": 1}), tmp_path, llm=llm, progress=False)


@pytest.mark.slow
def test_tiny_run_end_to_end_and_resume(tmp_path, llm):
    config = load_config(overrides={"sample.num_tasks": 2, "sample.k": 2, "eval.num_tasks": 2, "train.max_steps": 1,
                                    "reflect.reflection_tokens": 16, "sample.max_tokens": 32, "eval.max_tokens": 32,
                                    "trained_few_shot": False})
    result = Pipeline(config, tmp_path, llm=llm, progress=False).run()
    # trained agents are trained zero-shot; the reflector's repairs are played few-shot, as sampled
    exemplar = template_for(config.env_id).exemplars[0]["observation"].strip()
    for name in ("agent_dm", "agent_dmdr", "dpo"):
        assert all(exemplar not in row["prompt"] for row in _lines(tmp_path / "data" / f"{name}.jsonl")), name
    assert all(exemplar in row["prompt"] for row in _lines(tmp_path / "data" / "reflector.jsonl") if row["kind"] != "reflection")
    stages = json.loads((tmp_path / "stages.json").read_text())
    for stage in ("sample", "reflect", "build_data", "train_reflector", "train_agent_selftrain", "train_agent_rerest",
                  "eval_base", "eval_selftrain", "eval_rerest"):
        assert stages[stage]["status"] in ("done", "skipped"), stage
    assert set(result.success) == {"base", "selftrain", "rerest"}
    assert "not needed" in stages["train_reflector"]["note"]  # one round, no reflect_with_trained: nothing uses it
    sampled = (tmp_path / "records" / "sampled.jsonl").read_text().splitlines()
    assert len(sampled) == 4
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    names = {m["name"] for m in metrics}
    assert {"sample/success_rate", "reflect/repair_rate", "data/dm_size", "data/dr_size", "eval/success_rate"} <= names
    for m in metrics:
        if m["name"] in ("eval/success_rate", "eval/score"):
            assert m["n"] == 2 and 0.0 <= m["ci_low"] <= m["value"] <= m["ci_high"] <= 1.0, m
    assert all(len(result.task_success[v]) == 2 for v in result.success)
    assert result.difference("rerest", "base").n == 2
    # Resume: every stage is done, nothing is played or trained again.
    before = (tmp_path / "metrics.jsonl").read_text()
    Pipeline(config, tmp_path, llm=llm, progress=False).run()
    assert (tmp_path / "metrics.jsonl").read_text() == before
    assert RunDir(tmp_path).done("eval_rerest")


def test_the_run_table_shows_intervals_and_paired_differences(tmp_path):
    from rerest_agents.cli import results_table
    from rerest_agents.pipeline import RunResult

    tasks = [f"t{i}" for i in range(40)]
    wins = {"base": 8, "selftrain": 20, "rerest": 21}  # each variant solves the first N tasks
    result = RunResult(tmp_path)
    for variant, n in wins.items():
        result.task_success[variant] = {t: float(i < n) for i, t in enumerate(tasks)}
        result.task_score[variant] = {t: 1.0 if i < n else 0.5 for i, t in enumerate(tasks)}
    result.task_success["rerest"]["only-rerest"] = 1.0  # a task the other variants were not evaluated on
    lines = results_table(result, untrained={"selftrain"})
    text = "\n".join(lines)
    assert "base        0.200 [0.105, 0.348] (n=40)" in text  # Wilson interval of 8/40
    assert "0.600 [0.5" in lines[1] and "0.750 [0.6" in lines[2]  # mean scores of base and self-training, with intervals
    assert "(not trained: no training data; untrained model)" in lines[2]
    by_label = {line.split("  ")[2].strip(): line for line in lines if line.startswith("    ")}
    assert list(by_label) == ["self-training - base", "Re-ReST - self-training", "Re-ReST - base"]
    assert by_label["self-training - base"].rstrip().endswith("above 0")
    assert "+0.300 [" in by_label["self-training - base"]
    # one more task solved of 40, paired: the interval holds 0
    assert "+0.025 [+0.000, +0.075] (n=40; 1 unmatched task dropped) noise" in by_label["Re-ReST - self-training"]


class ParityEnv(gymnasium.Env):
    """A user env the base model passes about half the time: answers of even length win."""

    metadata = {"render_modes": []}
    observation_space = gymnasium.spaces.Text(200, charset="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -:.")
    action_space = gymnasium.spaces.Text(200)

    def __init__(self, split: str = "train"):
        self.task_ids = [f"{split}-{i}" for i in range(3)]

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return f"Task {(options or {}).get('task_id')}: name one fruit.", {}

    def step(self, action):
        n = len(action.strip())
        won = n > 0 and n % 2 == 0
        message = "" if won else f"Your answer has {n} characters; an even number is needed."
        return ("correct" if won else "wrong"), float(won), True, False, {"feedback": {"success": won, "message": message}}


def parity_config(**overrides):
    """The smallest run on ParityEnv (registered on first use as acme/Parity-v0), with `overrides`."""
    if "acme/Parity-v0" not in gymnasium.registry:
        gymnasium.register("acme/Parity-v0", entry_point=ParityEnv)
    return load_config(overrides={
        "env_id": "acme/Parity-v0", "train_env_kwargs": {"split": "train"}, "test_env_kwargs": {"split": "test"},
        "sample.num_tasks": 2, "sample.k": 2, "eval.num_tasks": 1, "train.max_steps": 1, "train.max_length": 160,
        "reflect.reflection_tokens": 12, "sample.max_tokens": 8, "eval.max_tokens": 8, **overrides})


@pytest.mark.slow
def test_two_rounds_with_dpo_and_the_trained_reflector(tmp_path, llm):
    config = parity_config(**{"eval.dpo": True, "reflect_with_trained": True, "rounds": 2})
    result = Pipeline(config, tmp_path, llm=llm, progress=False).run()
    stages = json.loads((tmp_path / "stages.json").read_text())
    rounds = ("", "-r2")
    for s in rounds:
        for stage in ("sample", "reflect", "build_data", "train_reflector", "reflect_trained", "train_agent_selftrain",
                      "train_agent_rerest", "train_agent_dpo"):
            assert stages[stage + s]["status"] in ("done", "skipped"), stage + s
        assert len((tmp_path / "records" / f"sampled{s}.jsonl").read_text().splitlines()) == 4
    assert set(result.success) == {"base", "selftrain", "rerest", "dpo"}
    # every stage that had data trained an adapter; every skipped one says its data set was empty
    for s in rounds:
        for stage, data, adapter in (("train_agent_selftrain", "agent_dm", "agent-selftrain"),
                                     ("train_agent_rerest", "agent_dmdr", "agent-rerest"),
                                     ("train_agent_dpo", "dpo", "agent-dpo"), ("train_reflector", "reflector", "reflector")):
            rows = (tmp_path / "data" / f"{data}{s}.jsonl").read_text().splitlines()
            trained = (tmp_path / "adapters" / f"{adapter}{s}" / "adapter" / "adapter_config.json").exists()
            assert trained == bool(rows), (stage + s, len(rows))
            assert (stages[stage + s]["status"] == "done") == bool(rows)
    # round 2 samples with the round-1 Re-ReST agent (when it was trained)
    second = [json.loads(line) for line in (tmp_path / "records" / "sampled-r2.jsonl").read_text().splitlines()]
    if (tmp_path / "adapters" / "agent-rerest" / "adapter").exists():
        assert {r["adapter"] for r in second} == {f"{tmp_path.name}-agent-rerest"}
    metrics = {m["name"] for m in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines())}
    assert {"reflect/repair_rate", "data/dr_size", "eval/success_rate"} <= metrics


# -- a reflector model of its own --------------------------------------------------------------------
def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_reflector_model_config():
    assert load_config().reflector_model is None
    assert "reflector_model" not in load_config().results_dict()  # runs and hashes from before the key stay the same
    config = load_config(overrides={"reflector_model.backend": "openai", "reflector_model.name": "big",
                                    "reflector_model.kwargs": {"base_url": "http://localhost:8000/v1"}})
    assert isinstance(config.reflector_model, ReflectorModelConfig)
    assert (config.reflector_model.backend, config.reflector_model.name, config.reflector_model.adapter) == ("openai", "big", None)
    assert config.results_dict()["reflector_model"]["kwargs"] == {"base_url": "http://localhost:8000/v1"}
    assert load_config(overrides={"reflector_model": None}).reflector_model is None
    with pytest.raises(ConfigError, match="Did you mean 'adapter'"):
        load_config(overrides={"reflector_model.adaptor": "x"})
    with pytest.raises(ConfigError, match="Unknown model backend 'vlm'. Did you mean 'vllm'"):
        load_config(overrides={"reflector_model.backend": "vlm"})


def test_a_run_dir_from_before_reflector_model_resumes(tmp_path, llm):
    import yaml

    config = load_config()
    old = {k: v for k, v in config.to_dict().items() if k != "reflector_model"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    pipeline = Pipeline(config, tmp_path, llm=llm, progress=False)
    assert pipeline.reflector_llm is llm
    with pytest.raises(ConfigError, match="different config"):
        Pipeline(load_config(overrides={"reflector_model.name": "other"}), tmp_path, llm=llm, progress=False)


@pytest.fixture(scope="module")
def tiny_reflector(tmp_path_factory):
    pytest.importorskip("torch")
    from tests.agents.tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.mark.slow
def test_two_hf_models_in_one_run(tmp_path, llm, tiny_reflector):
    """gemma-3-270m acts, a different (tiny, random) hf model reflects, is trained on its own base and reflects again."""
    config = parity_config(**{"sample.k": 3, "reflect_with_trained": True, "reflect.reflection_tokens": 8,
                              "reflector_model": {"backend": "hf", "name": str(tiny_reflector)}})
    pipeline = Pipeline(config, tmp_path, llm=llm, progress=False)
    result = pipeline.run()
    reflector = pipeline.reflector_llm
    assert reflector is not llm and reflector.model_name == str(tiny_reflector)  # built by make_llm("hf", model=folder)
    records = tmp_path / "records"
    assert {r["model"] for r in _lines(records / "sampled.jsonl")} == {llm.model_name}
    repaired = _lines(records / "repaired.jsonl") + _lines(records / "repaired-trained.jsonl")
    assert repaired and {r["model"] for r in repaired} == {str(tiny_reflector)}
    assert {r["model"] for name in ("base", "selftrain", "rerest") for r in _lines(records / f"eval-{name}.jsonl")} == {llm.model_name}
    # the reflector trains on its own base model, the agent on gemma
    assert _lines(tmp_path / "data" / "reflector.jsonl")
    adapters = tmp_path / "adapters"
    base_of = {p.parent.parent.name: json.loads(p.read_text())["base_model_name_or_path"]
               for p in adapters.glob("*/adapter/adapter_config.json")}
    assert base_of["reflector"] == str(tiny_reflector)
    assert {name for name, base in base_of.items() if base == str(tiny_reflector)} == {"reflector"}
    key = f"{tmp_path.name}-reflector"
    assert key in reflector.adapters and key not in llm.adapters
    assert {r["adapter"] for r in _lines(records / "repaired-trained.jsonl")} <= {key}
    assert set(result.success) == {"base", "selftrain", "rerest"}


class _Says(LLM):
    """A stand-in LLM that always answers `Action: <answer>`."""

    backend = "scripted"

    def __init__(self, name: str, answer: str) -> None:
        self.model_name, self.answer = name, answer

    def _generate(self, prompts, params, adapter):
        return [[Completion(f"Thought: ok.\nAction: {self.answer}")] * params.n for _ in prompts]


@pytest.mark.slow
def test_a_served_reflector_reflects_zero_shot_and_is_not_trained(tmp_path):
    """An openai-backend reflector (stood in for by a scripted LLM): its repairs reach D_R, its training is skipped."""
    config = parity_config(**{"reflector_model": {"backend": "openai", "name": "big-reflector", "kwargs": {"base_url": "http://x/v1"}}})
    agent, served = _Says("agent", "abc"), _Says("big-reflector", "ab")  # odd answers fail, even ones win
    logs = []
    Pipeline(config, tmp_path, llm=agent, reflector_llm=served, progress=False, log=logs.append).run()
    stages = json.loads((tmp_path / "stages.json").read_text())
    assert stages["train_reflector"]["status"] == "skipped"
    assert "openai backend" in stages["train_reflector"]["note"] and "zero-shot" in stages["train_reflector"]["note"]
    assert any("train_reflector skipped: the reflector runs on the openai backend" in line for line in logs)
    assert not (tmp_path / "adapters" / "reflector").exists()
    repaired = _lines(tmp_path / "records" / "repaired.jsonl")
    assert repaired and all(r["success"] and r["model"] == "big-reflector" for r in repaired)
    assert {r["adapter"] for r in repaired} == {None}
    assert stages["train_agent_rerest"]["status"] == "done"  # D_R = the served reflector's verified repairs
    assert (tmp_path / "adapters" / "agent-rerest" / "adapter" / "adapter_config.json").exists()


def test_the_reflector_starts_from_its_adapter(tmp_path):
    served = {"backend": "openai", "name": "big", "adapter": "reflector-v1", "kwargs": {"base_url": "http://x/v1"}}
    pipeline = Pipeline(parity_config(reflector_model=served), tmp_path / "served", llm=_Says("a", "x"), reflector_llm=_Says("big", "y"),
                        progress=False)
    assert pipeline._reflector_start() == "reflector-v1" and pipeline.reflector_llm.adapters == {"reflector-v1": "reflector-v1"}
    local = {"backend": "hf", "name": "/models/tiny", "adapter": "/adapters/r1"}
    pipeline = Pipeline(parity_config(reflector_model=local), tmp_path / "local", llm=_Says("a", "x"), reflector_llm=_Says("tiny", "y"),
                        progress=False)
    assert pipeline._reflector_start() == "local-reflector-start"
    assert pipeline.reflector_llm.adapters == {"local-reflector-start": "/adapters/r1"} and pipeline.llm.adapters == {}
    assert Pipeline(parity_config(), tmp_path / "none", llm=_Says("a", "x"), progress=False)._reflector_start() is None
