"""`details["canonical_action"]`: the layout as the env read it, which must score as the raw answer did."""

from __future__ import annotations

import gymnasium
import pytest

import rerest_envs  # noqa: F401

#: Answers as gemma-3-270m writes them: corners in the wrong order, junk after the last box, a
#: phrase repeated, boxes without brackets, a clean one.
ANSWERS = [" bowl [(45, 10, 40, 30), (30, 95, 60, 25)]", " cup [(10, 50, 30, 60), (40, 45, 90), (95, 80, 60)]",
           " train (10, 45, 40, 30), (60, 50, 90, 30) train (20, 35, 35, 60)", " dog [(60, 30, 95, 90)] person [(70, 5, 30, 90)]",
           " backpack [(5, 50, 45, 90)] (go, (50, 45, 90, 50)", " bear [(40, 5, 60, 35)] fork [(60, 30, 95, 90)]"]


@pytest.mark.parametrize("protocol", ["default", "paper"])
def test_the_canonical_answer_scores_as_the_raw_one_and_is_a_fixed_point(protocol: str) -> None:
    env = gymnasium.make("rerest/Layout-v0", steps=1, prompt_set="generated-count-spatial", split="train", protocol=protocol)
    seen = 0
    for task in range(12):
        for answer in ANSWERS:
            env.reset(options={"task_id": env.unwrapped.task_ids[task]})
            *_, raw = env.step(answer)
            canonical = raw["feedback"].details.get("canonical_action")
            if canonical is None:
                continue
            seen += 1
            env.reset(options={"task_id": env.unwrapped.task_ids[task]})
            *_, again = env.step(" " + canonical)
            assert (again["feedback"].success, again["feedback"].score) == (raw["feedback"].success, raw["feedback"].score), (answer, canonical)
            assert again["feedback"].details["canonical_action"] == canonical
            assert "wrong order" not in again["feedback"].message
    assert seen >= 12 * (len(ANSWERS) - 1)


def test_an_unreadable_answer_has_no_canonical_form() -> None:
    env = gymnasium.make("rerest/Layout-v0", steps=1, prompt_set="generated-count-spatial", split="train")
    env.reset(seed=0)
    *_, info = env.step("(5, 45, 90, 35) no name before this box")
    assert "canonical_action" not in info["feedback"].details
