"""Parity with VPEval's spatial skill: `protocol="paper"` gives `spatialEvalDino`'s verdict on every case.

The reference is transcribed here, independently of `rerest_envs.layout.official`, from
`aszala/VPEval` @ 4a54904b9c4547ee57a54af42410bc490a5ff8ec, `src/evaluation_functions.py`:
`spatialEval`'s reading of the program argument `'A,B,rel'` (relation words) and `spatialEvalDino`
("B is rel of A": B's centre more than 5 px beyond A's; at least two detections). The program
argument is rebuilt from the prompt's words (PaintSkills template "a photo of A and B; B is left to
A", or "a B to the left of an A"), not from our requirements. The detector is played by the case
itself: every box of positive area that depicts A or B is detected with that label, at `v / 99 * 512`
px on a 512 px image, depth 0; distractors are not (GroundingDINO is queried with "A,B" only).
Prompts: the generated spatial set, plus a records file (`records=PATH`) of VPEval-style prompts
naming one class twice ("dog is left to dog") and "next to" (VPEval's `spatialEval` sends that to
BLIP-2 VQA, which a layout cannot answer; `paper` uses `spatialEvalDino`'s own `next` branch, and
so does this test: a documented difference).
"""

from __future__ import annotations

import collections
import json
import random
import re
from pathlib import Path

import gymnasium
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.layout import score_layout
from rerest_envs.layout.parse import parse_layout
from tests.envs.layout.parity_cases import Drawn, layout_text, variants


# -- VPEval, transcribed (spatialEval's relation words, spatialEvalDino) ------------------------------
def relation_word(relation: str) -> str:
    if "left" in relation:
        relation = "left"
    elif "right" in relation:
        relation = "right"
    elif "above" in relation:
        relation = "above"
    elif "below" in relation:
        relation = "below"
    elif "front" in relation:
        relation = "front"
    elif "behind" in relation:
        relation = "behind"
    else:
        relation = "skip"
    return relation


def spatialEvalDino(gt_labels, objects, target_relation: str, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N802
    predicted_labels, predicted_boxes, image_id, _ = objects
    diff_threshold = 5
    if (len(predicted_labels) >= 2):
        o1sidxs = []
        o2sidxs = []
        if gt_labels[0] != gt_labels[1]:
            for i, label in enumerate(predicted_labels):
                if label == gt_labels[0]:
                    o1sidxs.append(i)
                elif label == gt_labels[1]:
                    o2sidxs.append(i)
        else:
            for i, label in enumerate(predicted_labels):
                if label == gt_labels[0]:
                    o1sidxs.append(i)
                    o2sidxs.append(i)
        center_points = []
        for box in predicted_boxes:
            x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            center_points.append((x, y, box[4]))
        for o2idx in o2sidxs:
            for o1idx in o1sidxs:
                o2X, o2Y, o2Z = center_points[o2idx]
                o1X, o1Y, o1Z = center_points[o1idx]
                if target_relation == "next":
                    diff = o2X - o1X
                    if diff < -diff_threshold or diff > diff_threshold:
                        return True
                elif target_relation == "left":
                    if o2X - o1X < -diff_threshold:
                        return True
                elif target_relation == "right":
                    if o2X - o1X > diff_threshold:
                        return True
                elif target_relation == "above":
                    if o2Y - o1Y < -diff_threshold:
                        return True
                elif target_relation == "below":
                    if o2Y - o1Y > diff_threshold:
                        return True
                elif target_relation == "front":
                    if o2Z < o1Z:
                        return True
                elif target_relation == "behind":
                    if o2Z > o1Z:
                        return True
    return False


def program_argument(prompt: str) -> str:
    """VPEval's `spatialEval` argument `'A,B,rel'` ("B is rel of A") for a template prompt."""
    m = re.fullmatch(r"a photo of (.+) and (.+); (.+) is (left to|right to|above|below|next to) (.+)", prompt)
    if m:
        return f"{m.group(1)},{m.group(2)},{m.group(4)}"
    m = re.fullmatch(r"(?:an?|a pair of) (.+) (to the left of|to the right of|above|below) (?:an?|a pair of) (.+)", prompt)
    assert m, prompt
    return f"{m.group(3)},{m.group(1)},{m.group(2)}"


def reference(prompt: str, case: list[Drawn]) -> bool:
    object_1, object_2, relation = program_argument(prompt).split(",")
    relation = "next" if relation == "next to" else relation_word(relation)
    detected = [d for d in case if d.depicts in (object_1, object_2) and d.box[2] > d.box[0] and d.box[3] > d.box[1]]
    labels = [d.depicts for d in detected]
    boxes = [[v / 99 * 512 for v in d.box] + [0.0] for d in detected]
    return bool(spatialEvalDino([object_1, object_2], (labels, boxes, "image", f"{object_1},{object_2}"), relation))


# -- the cases ------------------------------------------------------------------------------------------
_EXTRA = [("dog", "left to", "dog"), ("cat", "above", "cat"), ("bench", "next to", "suitcase"), ("horse", "next to", "cow"),
          ("chair", "next to", "dining table"), ("bus", "right to", "bus"), ("bird", "below", "bear")]
_RELATION = {"left to": "left_of", "right to": "right_of", "above": "above", "below": "below", "next to": "next_to"}


def _records_file(folder: Path) -> Path:
    """VPEval-style spatial prompts in the normalised format: one class twice, and "next to"."""
    lines = []
    for i, (b, word, a) in enumerate(_EXTRA):
        lines.append(json.dumps({"id": f"vpeval_extra_{i}", "source": "vpeval_skill", "skill": "spatial",
                                 "prompt": f"a photo of {a} and {b}; {b} is {word} {a}",
                                 "objects": [{"name": a, "count": 1, "color": None}] + ([{"name": b, "count": 1, "color": None}] if a != b else []),
                                 "relations": [{"subject": b, "relation": _RELATION[word], "object": a}], "scale_relations": [],
                                 "text_to_render": None, "exclude": []}))
    path = folder / "vpeval_extra.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _base(prompt: str) -> tuple[str, str, list[Drawn]]:
    object_1, object_2, relation = program_argument(prompt).split(",")
    if object_1 == object_2:
        return object_2, object_1, [Drawn(object_1, (10, 30, 40, 60), object_1), Drawn(object_1, (55, 35, 85, 65), object_1)]
    return object_2, object_1, [Drawn(object_2, (10, 30, 40, 60), object_2), Drawn(object_1, (55, 35, 85, 65), object_1)]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    envs = [gymnasium.make("rerest/Layout-v0", prompt_set="generated-spatial", num_prompts=240, steps=1, protocol="paper"),
            gymnasium.make("rerest/Layout-v0", records=_records_file(tmp_path_factory.mktemp("vpeval")), steps=1, protocol="paper")]
    rng = random.Random(17)
    rows = []
    for env in envs:
        for task_id in env.unwrapped.task_ids:
            task = env.unwrapped.tasks[task_id]
            subject, obj, base = _base(task.prompt)
            for kind, case in variants(rng, subject, obj, base, typos=False):
                env.reset(options={"task_id": task_id})
                text = layout_text(case)
                _, reward, _, _, info = env.step(text)
                default = score_layout(task, parse_layout(text))
                rows.append({"prompt": task.prompt, "kind": kind, "text": text, "paper": reward == 1.0,
                             "reference": reference(task.prompt, case), "relation": task.relations[0].relation,
                             "default": bool(default.success), "default_relation": default.details["relation_holds"][0]["passed"]})
    return rows


def test_paper_protocol_agrees_with_vpeval_on_every_case(results: list[dict]) -> None:
    wrong = [r for r in results if r["paper"] != r["reference"]]
    assert not wrong, f"{len(wrong)} of {len(results)} verdicts differ, e.g. " + "; ".join(
        f"{r['prompt']!r} {r['kind']}: `{r['text']}` env {r['paper']} VPEval {r['reference']}" for r in wrong[:5])
    verdicts = collections.Counter(r["reference"] for r in results)
    assert len(results) > 5000 and verdicts[True] > 1000 and verdicts[False] > 1000, (len(results), verdicts)
    passing = {r["relation"] for r in results if r["reference"]}
    assert passing == {"left_of", "right_of", "above", "below", "next_to"}, passing
    assert any(r["reference"] for r in results if "dog is left to dog" in r["prompt"])


def test_default_protocol_agreement_is_reported(results: list[dict]) -> None:
    """Ours by default: the relation verdict agrees except where zero-area boxes, one box for both names
    or next_to differ; success also needs the counts, which VPEval's spatial skill does not score."""
    by: dict[str, list[bool]] = collections.defaultdict(list)
    for r in results:
        by[r["relation"]].append(r["default_relation"] == r["reference"])
    total = sum(map(sum, by.values())) / sum(map(len, by.values()))
    success = sum(r["default"] == r["reference"] for r in results) / len(results)
    print(f"\ndefault vs VPEval (n={len(results)}): relation verdict {total:.1%}, success {success:.1%}; "
          + ", ".join(f"{k} {sum(v) / len(v):.1%} (n={len(v)})" for k, v in sorted(by.items())))
    four = [r for r in results if r["relation"] in ("left_of", "right_of", "above", "below")]
    assert all(r["default_relation"] == r["reference"] for r in four)  # same rule, margin 5/512 of the side
