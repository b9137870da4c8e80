"""rerest/Layout-v0 on real data: ground truth wins, perturbed layouts fail with the right words.

Every record of every prompt set in ../shared/data/t2i is played (NSR-1K ground truth through the
env; a reference layout for every other set), plus parsing leniency, feedback wording, the
template generator's seeds and splits, and rendering.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.errors import DataNotFound
from rerest_envs.layout import (
    PROMPT_SETS, GENERATED_SETS, NSR1K_BROKEN_GT, Box, LayoutTask, ObjectReq, RelationReq, format_layout,
    generate_tasks, load_prompt_set, parse_layout, parse_objects, phrase_matches, reference_layout, score_layout,
)
from rerest_envs.layout.names import COCO_CLASSES, canonical, plural
from rerest_envs.layout.prompts import FILE_SETS, HELD_OUT_SETS

DATA = Path(os.environ["RERST_DATA_DIR"]) / "t2i"


def _records(relative: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / relative).read_text(encoding="utf-8").splitlines() if line.strip()]


def _play(env: gymnasium.Env, task_id: str, *answers: str) -> tuple[float, dict]:
    env.reset(options={"task_id": task_id})
    for answer in answers:
        _, reward, terminated, truncated, info = env.step(answer)
    assert terminated and not truncated
    return reward, info


# -- ground truth and perturbations (NSR-1K) -----------------------------------------------------------
@pytest.mark.parametrize("prompt_set, relative", [("nsr1k-counting", "layouts/nsr1k_counting_val.jsonl"),
                                                  ("nsr1k-spatial", "layouts/nsr1k_spatial_train.jsonl")])
def test_nsr1k_ground_truth_wins_in_two_steps(prompt_set: str, relative: str) -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set=prompt_set)
    records = _records(relative)
    assert len(records) == len(env.unwrapped.task_ids) > 700
    for r in records:
        reward, info = _play(env, r["id"], r["vpgen_objects_text"], r["vpgen_layout_text"])
        fb = info["feedback"]
        if r["id"] in NSR1K_BROKEN_GT:
            assert not fb.success and "the prompt asks for" in fb.message, (r["id"], fb.message)
            continue
        assert fb.success and reward == 1.0 and fb.score == 1.0, (r["id"], r["prompt"], fb.message)
        assert r["vpgen_layout_text"] in fb.privileged


def test_broken_nsr1k_ground_truth_is_an_upstream_fault() -> None:
    raw = {str(r["id"]): r for r in json.loads((DATA / "layouts/nsr1k_counting.val.raw.json").read_text())}
    for task_id in NSR1K_BROKEN_GT:
        r = raw[task_id.rsplit("_", 1)[1]]
        boxed = {name: [o[0] for o in r["object_list"]].count(name) for name, _ in r["num_object"]}
        assert boxed != dict((n, c) for n, c in r["num_object"]), task_id


def _mirror(text: str, axis: str) -> str:
    flipped = []
    for b in parse_layout(text).boxes:
        flipped.append(Box(b.phrase, 99 - b.x2, b.y1, 99 - b.x1, b.y2) if axis == "x" else Box(b.phrase, b.x1, 99 - b.y2, b.x2, 99 - b.y1))
    return format_layout(flipped)


def test_nsr1k_spatial_mirrored_layouts_fail_with_the_relation_explained() -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set="nsr1k-spatial", steps=1)
    checked = 0
    for r in _records("layouts/nsr1k_spatial_train.jsonl"):
        rel = r["relations"][0]
        if rel["relation"] == "next_to":
            continue
        axis = "x" if rel["relation"] in ("left_of", "right_of") else "y"
        reward, info = _play(env, r["id"], _mirror(r["vpgen_layout_text"], axis))
        fb = info["feedback"]
        word = {"left_of": "left of", "right_of": "right of", "above": "above", "below": "below"}[rel["relation"]]
        # A pair mirrored exactly onto the same centre line stays level; every other one must fail.
        boxes = parse_layout(r["vpgen_layout_text"]).boxes
        centres = {b.phrase: b.center for b in boxes}
        if abs(centres[rel["subject"]][0 if axis == "x" else 1] - centres[rel["object"]][0 if axis == "x" else 1]) < 1:
            continue
        assert not fb.success and reward == 0.0, (r["id"], fb.message)
        assert f"should be {word} the {rel['object']} but its centre is" in fb.message, fb.message
        assert fb.details["relation_holds"][0]["passed"] is False
        checked += 1
    assert checked > 500


def test_nsr1k_counting_with_a_box_dropped_or_a_foreign_layout_fails() -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set="nsr1k-counting", steps=1)
    records = [r for r in _records("layouts/nsr1k_counting_val.jsonl") if r["id"] not in NSR1K_BROKEN_GT and not r["comparison"]]
    for i, r in enumerate(records):
        boxes = parse_layout(r["vpgen_layout_text"]).boxes
        _, info = _play(env, r["id"], format_layout(boxes[:-1]))
        fb = info["feedback"]
        last = boxes[-1].phrase
        want = next(o["count"] for o in r["objects"] if o["name"] == last)
        assert not fb.success, (r["id"], fb.message)
        has = "none" if want == 1 else str(want - 1)
        assert f"the layout has {has}" in fb.message and "the prompt asks for" in fb.message, fb.message
        # Shuffled: another record's layout with other objects.
        other = next(o for o in records[i + 1:] + records[:i] if {x["name"] for x in o["objects"]}.isdisjoint({x["name"] for x in r["objects"]}))
        _, info = _play(env, r["id"], other["vpgen_layout_text"])
        assert not info["feedback"].success and info["feedback"].score == 0.0


# -- every record of every other set: the reference layout wins -----------------------------------------
@pytest.mark.parametrize("prompt_set", [s for s in FILE_SETS if not s.startswith("nsr1k")])
def test_reference_layout_wins_on_every_record(prompt_set: str) -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set=prompt_set, steps=1)
    tasks = env.unwrapped.tasks
    assert len(tasks) == len(_records(FILE_SETS[prompt_set][0])) or prompt_set == "vpeval-count-paper"
    unscorable = []
    for task in tasks.values():
        answer = format_layout(reference_layout(task))
        _, info = _play(env, task.task_id, answer)
        fb = info["feedback"]
        if task.texts:
            assert not fb.success and "image model" in fb.message, fb.message
            continue
        if not fb.success:
            unscorable.append(task.task_id)
            continue
        assert fb.score == 1.0 and "meets every requirement" in fb.privileged
    # Open-ended: 'a map of Italy' has nothing a layout can show; one prompt has two relations on one pair of names.
    assert unscorable == ([] if prompt_set != "vpeval-open" else ["partiprompt_1250", "coco_685662"]), unscorable


def test_text_skill_needs_an_image_stage() -> None:
    class FakeStage:
        def generate(self, prompt: str, boxes: list[Box]) -> str:
            return f"image of {prompt}"

        def read_text(self, image: str) -> list[str]:
            return image.split("'")[1:2]

    env = gymnasium.make("rerest/Layout-v0", prompt_set="vpeval-text", steps=1, image_stage=FakeStage())
    _, info = _play(env, "text_val_000001", "sign [(10, 10, 90, 60)]")
    assert info["feedback"].success and info["image"] == "image of a sign that reads 'dream'"
    env = gymnasium.make("rerest/Layout-v0", prompt_set="vpeval-text", steps=1)
    _, info = _play(env, "text_val_000001", "sign [(10, 10, 90, 60)]")
    assert not info["feedback"].success and "none is configured" in info["feedback"].message


# -- feedback wording ----------------------------------------------------------------------------------
def _task(**kw) -> LayoutTask:
    return LayoutTask(task_id="t", prompt="p", source="test", skill="test", **kw)


def test_feedback_names_each_failed_check() -> None:
    task = _task(objects=(ObjectReq("dog", 3), ObjectReq("bench", 1), ObjectReq("suitcase", 1)),
                 relations=(RelationReq("bench", "left_of", "suitcase"),))
    fb = score_layout(task, parse_layout("dog [(0,0,9,9), (10,0,19,9)] suitcase [(20, 50, 40, 70)] bench [(32, 50, 52, 70)]"))
    assert not fb.success and fb.score == pytest.approx(2 / 4)
    assert "- the prompt asks for 3 dogs, the layout has 2" in fb.message
    assert "- the bench should be left of the suitcase but its centre is 12 units to the right" in fb.message
    assert [e["passed"] for e in fb.details["count_matches"]] == [False, True, True]
    fb = score_layout(_task(objects=(ObjectReq("cat"),)), parse_layout("dog [(0, 0, 10, 10)]"))
    assert "the prompt asks for a cat, the layout has none" in fb.message


def test_scale_uses_vpeval_five_percent_rule() -> None:
    def ratio_ok(rel: str, w: float) -> bool:
        task = _task(scales=(RelationReq("dog", rel, "cat"),))
        return score_layout(task, parse_layout(f"cat [(0, 0, 20, 20)] dog [(50, 0, {50 + w}, 20)]")).success

    assert ratio_ok("bigger", 21.2) and not ratio_ok("bigger", 21) and ratio_ok("smaller", 18.8) and not ratio_ok("smaller", 19)
    assert ratio_ok("same", 20.9) and not ratio_ok("same", 21.2)
    fb = score_layout(_task(scales=(RelationReq("dog", "bigger", "cat"),)), parse_layout("cat [(0,0,20,20)] dog [(50,0,60,20)]"))
    assert "the dog should be bigger than the cat but its box area is 0.50 times the cat's" in fb.message


def test_spatial_margin_next_to_and_3d_rules() -> None:
    left = _task(relations=(RelationReq("dog", "left_of", "cat"),))
    assert score_layout(left, parse_layout("dog [(0, 0, 10, 10)] cat [(1, 0, 11, 10)]")).success  # 1 unit > 5/512 of 99
    assert not score_layout(left, parse_layout("dog [(0, 0, 10, 10)] cat [(0, 0, 11, 10)]")).success  # 0.5 unit
    near = _task(relations=(RelationReq("dog", "next_to", "cat"),))
    assert score_layout(near, parse_layout("dog [(0, 0, 10, 10)] cat [(30, 0, 40, 10)]")).success
    fb = score_layout(near, parse_layout("dog [(0, 0, 10, 10)] cat [(31, 0, 41, 10)]"))
    assert "the boxes are 21 units apart (at most 20 allowed" in fb.message
    front = _task(relations=(RelationReq("dog", "in_front_of", "desk"),))
    assert score_layout(front, parse_layout("desk [(10, 10, 90, 60)] dog [(30, 40, 60, 90)]")).success
    assert "bottom edge is 30 units higher" in score_layout(front, parse_layout("desk [(10, 10, 90, 90)] dog [(30, 40, 60, 60)]")).message


def test_geneval_counting_excludes_more() -> None:
    tasks = {t.prompt: t for t in load_prompt_set("geneval")}
    task = tasks["a photo of two cats"] if "a photo of two cats" in tasks else next(t for t in tasks.values() if t.excludes)
    name, n = task.objects[0].name, task.objects[0].count
    too_many = format_layout([Box(name, 10 * i, 0, 10 * i + 8, 8) for i in range(n + 1)])
    fb = score_layout(task, parse_layout(too_many))
    assert not fb.success and f"fewer than {n + 1} {plural(name)}, the layout has {n + 1}" in fb.message


def test_open_ended_vqa_is_reported_not_scored() -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set="vpeval-open", steps=1)
    _, info = _play(env, "coco_669925", "christmas tree [(10, 10, 60, 90)] lights [(20, 20, 50, 50)] teddy bear [(65, 50, 95, 95)]")
    fb = info["feedback"]
    assert fb.success and "Not checked on a layout: VQA `what is in the picture?`" in fb.message


def test_comparison_prompts_need_more_not_the_ground_truth_count() -> None:
    tasks = {t.task_id: t for t in load_prompt_set("nsr1k-counting")}
    task = tasks["nsr1k_counting_39012"]  # one potted plant with a few vases, fewer plants than vases
    ok = score_layout(task, parse_layout("potted plant [(0,0,10,10)] vase [(20,0,30,10), (40,0,50,10), (60,0,70,10)]"))
    bad = score_layout(task, parse_layout("potted plant [(0,0,10,10)] vase [(20,0,30,10)]"))
    assert ok.success and not bad.success and "fewer potted plants than vases, the layout has 1 and 1" in bad.message


# -- parsing and names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, expected, note", [
    ("dog [(10, 40, 45, 90), (55, 42, 90, 88)] frisbee [(40, 5, 55, 20)]", [("dog", 10, 40, 45, 90), ("dog", 55, 42, 90, 88), ("frisbee", 40, 5, 55, 20)], None),
    ("dog [(10, 40, 45, 90), (55, 42, 90, 88) frisbee [(40, 5, 55, 20)", [("dog", 10, 40, 45, 90), ("dog", 55, 42, 90, 88), ("frisbee", 40, 5, 55, 20)], None),
    ("  DOGS  [ (50,40,10,90) ]", [("DOGS", 10, 40, 50, 90)], "wrong order"),
    ("cat [(0.1, 0.2, 0.3, 0.4)]", [("cat", 9.9, 19.8, 29.7, 39.6)], "fractions"),
    ("dog: [10 20 30 40]\nand cat: [1, 2, 3, 4]", [("dog", 10, 20, 30, 40), ("cat", 1, 2, 3, 4)], None),
    ("dog [(10, 20, 300, 40)]", [("dog", 10, 20, 99, 40)], "clipped"),
    ("cat [] dog [(1,2,3)] [(1,2,3,4)]", [("dog", 1, 2, 3, 4)], "four numbers"),
])
def test_layout_parsing_is_lenient(answer: str, expected: list, note: str | None) -> None:
    parsed = parse_layout(answer)
    got = [(b.phrase, b.x1, b.y1, b.x2, b.y2) for b in parsed.boxes]
    assert got == [tuple(pytest.approx(v) if isinstance(v, float) else v for v in e) for e in expected]
    assert parsed.errors == []
    assert (note is None and parsed.notes == []) or (note is not None and any(note in n for n in parsed.notes))


def test_unreadable_answers_are_feedback() -> None:
    env = gymnasium.make("rerest/Layout-v0", steps=2)
    env.reset(seed=3)
    obs, reward, terminated, _, info = env.step("¯\\_(ツ)_/¯")
    assert not terminated and reward == 0.0 and "no object could be read" in info["feedback"].message
    obs, reward, terminated, _, info = env.step("")
    assert terminated and reward == 0.0 and "Could not read the layout" in obs and info["feedback"].success is False


def test_objects_parsing() -> None:
    assert parse_objects("Two skiers (2), a ski lift (1)").items == [("Two skiers", 2), ("a ski lift", 1)]
    assert parse_objects("dog(2),frisbee (1").items == [("dog", 2), ("frisbee", 1)]
    assert parse_objects("two dogs and a cat").items == [("dogs", 2), ("cat", 1)]


def test_names_plurals_and_synonyms() -> None:
    for name in COCO_CLASSES:
        assert canonical(name) == name and canonical(plural(name)) == name, name
    assert phrase_matches("persons", "people") and phrase_matches("person", "Two men") and not phrase_matches("man", "person")
    assert not phrase_matches("bear", "teddy bear") and not phrase_matches("dog", "hot dog") and phrase_matches("car", "a red car")
    assert canonical("fireHydrant") == "fire hydrant" and canonical("sheeps") == "sheep" and canonical("knifes") == "knife"
    env = gymnasium.make("rerest/Layout-v0", prompt_set="vpeval-count", steps=1)
    _, info = _play(env, "count_val_000001", "People [(10, 10, 40, 90), (50, 10, 80, 90)]")  # "2 persons"
    assert info["feedback"].success


# -- generator, seeds, splits, no data -------------------------------------------------------------------
def test_generator_is_seeded_and_splits_are_disjoint() -> None:
    for kind in ("count", "spatial", "scale"):
        a, b = generate_tasks(kind, "train", 300, seed=1), generate_tasks(kind, "train", 300, seed=1)
        assert [t.prompt for t in a] == [t.prompt for t in b]
        assert [t.prompt for t in a] != [t.prompt for t in generate_tasks(kind, "train", 300, seed=2)]
        test = generate_tasks(kind, "test", 200, seed=1)
        objects = lambda ts: {frozenset(canonical(o.name) for o in t.objects) | ({0} if kind != "count" else {tuple(o.count for o in t.objects)}) for t in ts}
        train_sets = {frozenset(canonical(o.name) for o in t.objects) for t in a}
        assert train_sets.isdisjoint({frozenset(canonical(o.name) for o in t.objects) for t in test}) or kind == "count"
        assert {t.prompt for t in a}.isdisjoint({t.prompt for t in test})
        assert len({t.prompt for t in a}) == 300 and objects(a)
    counts = [o.count for t in generate_tasks("count", "train", 500) for o in t.objects]
    assert set(counts) == {1, 2, 3, 4}


def test_generated_sets_need_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    for name in GENERATED_SETS:
        env = gymnasium.make("rerest/Layout-v0", prompt_set=name, split="test", num_prompts=50)
        obs, info = env.reset(seed=0)
        assert obs.startswith("Instruction: Given an image caption, determine objects") and len(env.unwrapped.task_ids) == 50
    with pytest.raises(DataNotFound, match="generated-\\* prompt sets need no files"):
        gymnasium.make("rerest/Layout-v0", prompt_set="geneval")
    with pytest.raises(ValueError, match="did you mean"):
        gymnasium.make("rerest/Layout-v0", prompt_set="generated-spatal")
    assert set(PROMPT_SETS) == set(FILE_SETS) | set(HELD_OUT_SETS) | set(GENERATED_SETS)


def test_two_step_episode_repeats_the_objects() -> None:
    env = gymnasium.make("rerest/Layout-v0", prompt_set="vpeval-count")
    obs, info = env.reset(options={"task_id": "count_val_000001"})
    assert obs == "Instruction: Given an image caption, determine objects and their counts.\nCaption: 2 persons"
    obs, reward, terminated, _, info = env.step("person (2)")
    assert obs.endswith("Caption: 2 persons\nObjects: person (2)") and reward == 0.0 and not terminated
    assert info["feedback"].success is None and info["step"] == 2
    obs, reward, terminated, _, info = env.step("person [(10, 10, 40, 90), (50, 10, 80, 90)]")
    assert terminated and reward == 1.0 and obs == "All 1 requirement met."


def test_render_rgb_array_and_ansi() -> None:
    env = gymnasium.make("rerest/Layout-v0", steps=1, render_mode="rgb_array", render_size=256)
    env.reset(seed=0)
    blank = env.render()
    env.step("dog [(10, 10, 50, 50)] cat [(60, 60, 90, 90)]")
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    assert (frame != 255).sum() > (blank != 255).sum()
    env = gymnasium.make("rerest/Layout-v0", steps=1, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    env.step("dog [(10, 10, 50, 50)]")
    assert env.render().startswith(obs) and "> dog [(10, 10, 50, 50)]" in env.render()
