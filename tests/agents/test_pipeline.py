"""The whole Re-ReST run end to end on the embedded model, tiny budgets: stages, resume, report."""

from __future__ import annotations

import json

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
    # Resume: every stage is done, nothing is played or trained again.
    before = (tmp_path / "metrics.jsonl").read_text()
    Pipeline(config, tmp_path, llm=llm, progress=False).run()
    assert (tmp_path / "metrics.jsonl").read_text() == before
    assert RunDir(tmp_path).done("eval_rerest")
