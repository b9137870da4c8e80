"""The gold answer must win (STYLE habit 8): an oracle plays every record of the real data.

The oracle searches each gold title (every one must be an exact hit in the local corpus) and
finishes with the gold answer; EM must be 1.0 on every record whose answer Finish[...] can express.
A known-wrong answer must score 0 with a message that does not leak the gold answer.
"""

from __future__ import annotations

import pytest

from rerest_envs.hotpotqa import HotpotQAEnv, normalize_answer


def expressible(answer: str) -> bool:
    """Finish[answer] carries the answer unless it spans lines (the parser reads one line)."""
    return "\n" not in answer


@pytest.fixture(scope="module")
def env() -> HotpotQAEnv:
    return HotpotQAEnv(split="all")


def test_oracle_reaches_em_1_on_every_record(env: HotpotQAEnv) -> None:
    assert len(env.task_ids) == 1567
    played = failures = 0
    for task_id in env.task_ids:
        record = env.records[task_id]
        if not expressible(record.answer):
            continue
        env.reset(options={"task_id": task_id})
        for title in record.gold_titles:
            obs, reward, terminated, truncated, info = env.step(f"Search[{title}]")
            assert not obs.startswith("Could not find"), f"{task_id}: gold title {title!r} missing from the corpus: {obs[:200]}"
            assert info["page"] == title and reward == 0.0 and not terminated
        obs, reward, terminated, truncated, info = env.step(f"Finish[{record.answer}]")
        feedback = info["feedback"]
        played += 1
        failures += not (reward == 1.0 and terminated and feedback.success is True and feedback.score == 1.0)
        assert feedback.details["f1"]["score"] == 1.0 or normalize_answer(record.answer) == "", task_id
    assert played == 1567 and failures == 0


def test_wrong_answers_score_zero_without_leaking_the_gold(env: HotpotQAEnv) -> None:
    for task_id in env.task_ids[:200]:
        record = env.records[task_id]
        env.reset(options={"task_id": task_id})
        wrong = "no" if normalize_answer(record.answer) != "no" else "yes"
        obs, reward, terminated, _, info = env.step(f"Finish[{wrong}]")
        feedback = info["feedback"]
        assert reward == 0.0 and terminated and feedback.success is False and feedback.score == 0.0
        assert "wrong" in feedback.message and record.answer not in obs.replace(f"'{wrong}'", "")
        assert f"Gold answer: {record.answer}" in feedback.privileged
