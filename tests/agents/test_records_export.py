"""Trajectory records (JSONL, resumable) and the SFT/DPO exports built from them."""

from __future__ import annotations

import json

from rerest_agents.agent import template_for
from rerest_agents.consistency import final_answer, majority_vote
from rerest_agents.export import agent_sft, dpo_pairs, reflector_sft, write_jsonl
from rerest_agents.rollout import RecordWriter, StepRecord, Trajectory, read_records


def _code(key, task, success, text, origin="sampled", parent=None, reflection=None):
    return Trajectory(key=key, env_id="rerest/MBPP-v0", task_id=task, observation=f"Task {task}", origin=origin, parent=parent,
                      reflection=reflection, steps=[StepRecord(text, f"```python\n{text}```", "feedback")], success=success,
                      score=float(success), feedback={"success": success, "message": "Tests failed:\nassert f(1) == 2  # output: 3"})


def test_writer_appends_flushes_and_resumes_after_a_torn_line(tmp_path):
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write(_code("sampled/1/0", "1", True, "a"))
        writer.write(_code("sampled/1/0", "1", True, "a"))  # same key: written once
    with path.open("a") as f:
        f.write('{"key": "sampled/1/1", "env_id": ')  # a kill in the middle of a line
    with RecordWriter(path) as writer:
        assert writer.done == {"sampled/1/0"}
        writer.write(_code("sampled/1/1", "1", False, "b"))
    records = read_records(path)
    assert [r.key for r in records] == ["sampled/1/0", "sampled/1/1"]
    assert records[1].steps[0].action == "```python\nb```"
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_agent_sft_uses_plain_prompts_for_samples_and_repairs():
    template = template_for("rerest/MBPP-v0")
    trajectories = [_code("sampled/1/0", "1", False, "bad"),
                    _code("repaired/sampled/1/0", "1", True, "good", "repaired", "sampled/1/0", "Off by one.")]
    records = agent_sft(trajectories, template)
    assert len(records) == 1
    assert records[0]["prompt"] == template.prompt("Task 1", few_shot=False)
    assert records[0]["completion"] == "good```" and records[0]["origin"] == "repaired"
    assert "Off by one" not in records[0]["prompt"]


def test_react_sft_masks_observations():
    template = template_for("rerest/HotpotQA-v0")
    t = Trajectory(key="k", env_id="rerest/HotpotQA-v0", task_id="q", observation="Question: Q?", success=True, steps=[
        StepRecord("Search it.\nAction 1: Search[A]", "Search[A]", "A is B."),
        StepRecord("So B.\nAction 2: Finish[B]", "Finish[B]", "Episode finished")])
    (record,) = agent_sft([t], template)
    assert [s["loss"] for s in record["segments"]] == [True, False, True]
    assert record["segments"][1]["text"] == "\nObservation 1: A is B.\nThought 2:"
    assert record["completion"] == "".join(s["text"] for s in record["segments"])


def test_reflector_sft_and_dpo_pairs(tmp_path):
    template = template_for("rerest/MBPP-v0")
    trajectories = [_code("sampled/1/0", "1", False, "bad"), _code("sampled/1/1", "1", True, "ok"),
                    _code("sampled/2/0", "2", False, "bad2"),
                    _code("repaired/sampled/2/0", "2", True, "fixed", "repaired", "sampled/2/0", "Return x + 1.")]
    records = reflector_sft(trajectories, template)
    kinds = sorted(r["kind"] for r in records)
    assert kinds == ["pair", "reflection", "repair"]
    reflection = next(r for r in records if r["kind"] == "reflection")
    assert reflection["completion"] == " Return x + 1." and "assert f(1) == 2  # output: 3" in reflection["prompt"]
    pairs = dpo_pairs(trajectories, template)
    assert {(p["chosen_key"], p["rejected_key"]) for p in pairs} == {("sampled/1/1", "sampled/1/0"),
                                                                    ("repaired/sampled/2/0", "sampled/2/0")}
    path = write_jsonl(tmp_path / "dpo.jsonl", pairs)
    assert len(path.read_text().splitlines()) == 2


def test_majority_vote_over_final_answers():
    def qa(key, answer):
        return Trajectory(key=key, env_id="x", task_id="q", observation="", steps=[StepRecord("", f"Finish[{answer}]", "")])

    vote = majority_vote([qa("a", "The Seine"), qa("b", "Loire"), qa("c", "seine."), qa("d", "")])
    assert (vote.answer, vote.count, vote.total, vote.chosen.key) == ("seine", 2, 4, "a")
    assert final_answer(qa("e", "An Apple")) == "apple"


def test_canonical_actions_train_on_the_answer_as_the_env_read_it():
    layout = template_for("rerest/Layout-v0")
    read = "bowl [(40, 10, 45, 30)]"
    record = {"key": "sampled/t/0", "env_id": "rerest/Layout-v0", "task_id": "t", "observation": "Caption: a bowl", "success": True,
              "steps": [{"model_text": " bowl [(45, 10, 40, 30)] junk", "action": " bowl [(45, 10, 40, 30)] junk", "observation": "", "reward": 1.0}],
              "feedback": {"success": True, "score": 1.0, "details": {"canonical_action": read}}}
    won = Trajectory.from_dict(record)
    plain = Trajectory.from_dict({**record, "key": "sampled/t/1", "feedback": {"success": True, "score": 1.0}})
    raw, canonical = agent_sft([won, plain], layout), agent_sft([won, plain], layout, canonical=True)
    assert raw[0]["completion"].startswith(" bowl [(45, 10, 40, 30)] junk")
    assert canonical[0]["completion"].startswith(" " + read) and "junk" not in canonical[0]["completion"]
    assert canonical[1]["completion"] == raw[1]["completion"]  # no canonical form given: the raw text
