"""Splits on the real data: sizes, the 500-question protocol, and tolerant record files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rerest_envs.errors import DataNotFound
from rerest_envs.hotpotqa import HotpotQAEnv, eval_shuffle, load_split
from rerest_envs.hotpotqa.data import split_file

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "hotpotqa"


def test_eval_shuffle_is_reacts_random_233() -> None:
    assert eval_shuffle()[:500] == json.loads((SHARED / "rerest_eval500_dev_indices.json").read_text())


def test_split_sizes_and_eval500_substitute() -> None:
    train, dev, eval500 = load_split("train"), load_split("dev"), load_split("eval500")
    assert (len(train), len(dev), len(eval500)) == (300, 1267, 500)
    ranks = [r.rerest_shuffle_rank for r in eval500]
    assert ranks == sorted(ranks) and sum(r.in_eval500 for r in eval500) == 80
    assert len(load_split("eval500_covered")) == 80
    extended = load_split("train_extended")
    assert len(extended) == 300 + 1267 - 500 and not {r.id for r in extended} & {r.id for r in eval500}
    assert len({r.id for r in load_split("all")}) == 1567


def test_react500_is_the_real_eval_set() -> None:
    records = load_split("react500")
    indices = json.loads((SHARED / "rerest_eval500_dev_indices.json").read_text())
    assert [r.rerest_dev_index for r in records] == indices
    assert sum(bool(r.context) for r in records) == 80
    assert records[0].id == f"dev-{indices[0]}" or records[0].context


def test_any_jsonl_without_supporting_facts(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    rows = [{"id": "q1", "question": "Who wrote Hamlet?", "answer": "Shakespeare",
             "context": [["Hamlet (test page)", ["Hamlet is a tragedy by William Shakespeare.", " It is long."]]]},
            {"question": "No id, no context?", "answer": "fine", "supporting_facts": None}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    env = HotpotQAEnv(split=str(path), corpus_splits=())  # corpus: these records only (a quick index)
    assert env.task_ids == ["q1", "mine-1"]
    env.reset(options={"task_id": "q1"})
    obs, *_ = env.step("Search[hamlet (test page)]")
    assert obs == "Hamlet is a tragedy by William Shakespeare. It is long."
    assert env.step("Finish[shakespeare]")[1] == 1.0
    env.reset(options={"task_id": "mine-1"})
    assert "Gold answer: fine" in env.step("Search[x]")[4]["feedback"].privileged


def test_bad_split_and_missing_data_fail_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Did you mean 'eval500'"):
        load_split("eval50")
    with pytest.raises(DataNotFound, match="does not exist"):
        load_split(str(tmp_path / "nope.jsonl"))
    with pytest.raises(DataNotFound, match="lacks the HotpotQA file"):
        split_file("dev", tmp_path)


def test_official_files_give_the_exact_500_question_protocol(tmp_path: Path) -> None:
    """With the full official dev file (7405 records, ReAct's order), eval500 is the paper's exact set."""
    dev = [{"_id": f"id{i}", "question": f"Question {i}?", "answer": f"answer {i}", "type": "bridge", "level": "hard",
            "supporting_facts": [[f"Page {i}", 0]], "context": [[f"Page {i}", [f"Page {i} holds answer {i}."]]]} for i in range(7405)]
    (tmp_path / "hotpot_dev_distractor_v1.json").write_text(json.dumps(dev))
    indices = json.loads((SHARED / "rerest_eval500_dev_indices.json").read_text())
    records = load_split("eval500", tmp_path)
    assert [r.id for r in records] == [f"id{i}" for i in indices]
    assert all(r.in_eval500 and r.origin_split == "dev" for r in records)
    env = HotpotQAEnv(split="eval500", data_dir=tmp_path, corpus_splits=("dev",))
    obs, info = env.reset(seed=0)
    i = int(info["task_id"][2:])
    assert env.step(f"Search[page {i}]")[0] == f"Page {i} holds answer {i}."
    assert env.step(f"Finish[Answer {i}.]")[1] == 1.0
