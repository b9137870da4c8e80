"""The whole Re-ReST run end to end on the embedded model, tiny budgets: stages, resume, report."""

from __future__ import annotations

import json

import gymnasium
import pytest

from rerest_agents.errors import ConfigError
from rerest_agents.pipeline import Pipeline, RunDir, load_config


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


def test_a_run_dir_refuses_a_different_config(tmp_path, llm):
    Pipeline(load_config(), tmp_path, llm=llm, progress=False)
    with pytest.raises(ConfigError, match="different config"):
        Pipeline(load_config(overrides={"seed": 1}), tmp_path, llm=llm, progress=False)


@pytest.mark.slow
def test_tiny_run_end_to_end_and_resume(tmp_path, llm):
    config = load_config(overrides={"sample.num_tasks": 2, "sample.k": 2, "eval.num_tasks": 2, "train.max_steps": 1,
                                    "reflect.reflection_tokens": 16, "sample.max_tokens": 32, "eval.max_tokens": 32})
    result = Pipeline(config, tmp_path, llm=llm, progress=False).run()
    stages = json.loads((tmp_path / "stages.json").read_text())
    for stage in ("sample", "reflect", "build_data", "train_reflector", "train_agent_selftrain", "train_agent_rerest",
                  "eval_base", "eval_selftrain", "eval_rerest"):
        assert stages[stage]["status"] in ("done", "skipped"), stage
    assert set(result.success) == {"base", "selftrain", "rerest"}
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


@pytest.mark.slow
def test_two_rounds_with_dpo_and_the_trained_reflector(tmp_path, llm):
    if "acme/Parity-v0" not in gymnasium.registry:
        gymnasium.register("acme/Parity-v0", entry_point=ParityEnv)
    config = load_config(overrides={
        "env_id": "acme/Parity-v0", "train_env_kwargs": {"split": "train"}, "test_env_kwargs": {"split": "test"},
        "sample.num_tasks": 2, "sample.k": 2, "eval.num_tasks": 1, "eval.dpo": True, "reflect_with_trained": True,
        "rounds": 2, "train.max_steps": 1, "train.max_length": 160, "reflect.reflection_tokens": 12,
        "sample.max_tokens": 8, "eval.max_tokens": 8})
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
