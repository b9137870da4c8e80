"""Prompt sets: each name maps to a loader that returns `LayoutTask`s.

File-backed sets read the normalised JSONL files of the `t2i` task folder through the data layer
(`$RERST_DATA_DIR/t2i`, see `../shared/data/t2i/README.md`); `generated-*` sets need no files.
There is no official download: the files are our conversions of the VPEval, GenEval, NSR-1K
(LayoutGPT) and T2I-CompBench GitHub repositories, so a missing folder fails with a message that
names them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rerest_envs.data import resolve_data_dir
from rerest_envs.errors import DataNotFound
from rerest_envs.layout.generate import KINDS, generate_tasks
from rerest_envs.layout.names import canonical, phrase_matches, plural
from rerest_envs.layout.parse import parse_layout
from rerest_envs.layout.task import CompareReq, ExcludeReq, LayoutTask, ObjectReq, RelationReq

#: File-backed prompt sets: name -> (file inside the t2i folder, record filter or None).
FILE_SETS: dict[str, tuple[str, Callable[[dict[str, Any]], bool] | None]] = {
    "vpeval-object": ("vpeval/skill_object.jsonl", None),
    "vpeval-count": ("vpeval/skill_count.jsonl", None),
    "vpeval-count-paper": ("vpeval/skill_count.jsonl", lambda r: bool(r.get("in_vpeval_paper_subset"))),
    "vpeval-text": ("vpeval/skill_text.jsonl", None),
    "vpeval-open": ("vpeval/open_ended.jsonl", None),
    "geneval": ("geneval/geneval_prompts.jsonl", None),
    "nsr1k-counting": ("layouts/nsr1k_counting_val.jsonl", None),
    "nsr1k-spatial": ("layouts/nsr1k_spatial_train.jsonl", None),
    "t2icompbench-spatial": ("t2icompbench/spatial_val.jsonl", None),
    "t2icompbench-3d-spatial": ("t2icompbench/3d_spatial_val.jsonl", None),
    "t2icompbench-numeracy": ("t2icompbench/numeracy_val.jsonl", None),
}
#: Generated prompt sets: name -> the kinds mixed in it (equal shares, interleaved).
GENERATED_SETS: dict[str, tuple[str, ...]] = {
    "generated-count": ("count",),
    "generated-spatial": ("spatial",),
    "generated-scale": ("scale",),
    "generated-count-spatial": ("count", "spatial"),
    "generated-mixed": KINDS,
}
PROMPT_SETS: tuple[str, ...] = (*FILE_SETS, *GENERATED_SETS)
#: NSR-1K counting records whose ground-truth boxes contradict their own counts upstream (LayoutGPT's
#: `object_list` disagrees with its `num_object`, e.g. "four giraffes" with three giraffe boxes); their GT cannot win.
NSR1K_BROKEN_GT = frozenset({"nsr1k_counting_38839", "nsr1k_counting_38846", "nsr1k_counting_38871", "nsr1k_counting_38995",
                             "nsr1k_counting_39036", "nsr1k_counting_39043", "nsr1k_counting_39068"})
_SOURCES = ("aszala/VPEval, djghosh13/geneval, weixi-feng/LayoutGPT (NSR-1K) and Karine-Huang/T2I-CompBench on GitHub, "
            "converted as ../shared/data/t2i/README.md describes")

#: open-ended spatialEval relation words -> our relation names (others are reported as not checked).
_OPEN_RELATIONS = {"left": "left_of", "left of": "left_of", "left to": "left_of", "right": "right_of", "right of": "right_of",
                   "right to": "right_of", "above": "above", "on top of": "above", "on top": "above", "over": "above",
                   "below": "below", "under": "below", "beneath": "below", "next to": "next_to", "beside": "next_to",
                   "near": "near", "in front of": "in_front_of", "behind": "behind"}


def load_prompt_set(name: str, data_dir: str | Path | None = None, *, split: str = "train", num_prompts: int | None = None,
                    generator_seed: int = 0, classes: str = "coco") -> list[LayoutTask]:
    """The tasks of prompt set `name` (see `PROMPT_SETS`).

    Args:
        name: A prompt set name.
        data_dir: The `t2i` folder itself; default: the data layer. Ignored by `generated-*` sets.
        split: `train` or `test`; only `generated-*` sets have splits (file sets are evaluation sets).
        num_prompts: Size of a generated set (default 1000 for train, 200 for test); for file sets,
            keep only the first `num_prompts` records (None: all).
        generator_seed: Seed of the template generator.
        classes: `coco` (80 classes) or `paintskills` (21) for generated sets.

    Raises:
        ValueError: Unknown set name (with the closest names), or bad generator arguments.
        DataNotFound: A file-backed set whose file is not found.
    """
    if name in GENERATED_SETS:
        kinds = GENERATED_SETS[name]
        total = num_prompts if num_prompts is not None else (1000 if split == "train" else 200)
        shares = [total // len(kinds) + (i < total % len(kinds)) for i in range(len(kinds))]
        per_kind = [generate_tasks(k, split, n, seed=generator_seed, classes=classes) for k, n in zip(kinds, shares) if n]
        mixed = [t for group in zip(*per_kind) for t in group] + [t for g in per_kind for t in g[min(map(len, per_kind)):]]
        return mixed
    if name not in FILE_SETS:
        import difflib

        close = difflib.get_close_matches(name, PROMPT_SETS, n=3)
        raise ValueError(f"prompt_set={name!r} is not a prompt set{f'; did you mean {close}?' if close else ''} Choose one of {list(PROMPT_SETS)}.")
    if split != "train":
        raise ValueError(f"split={split!r} applies to generated-* prompt sets only; {name} is one fixed evaluation set (leave split at 'train').")
    relative, keep = FILE_SETS[name]
    try:
        folder = resolve_data_dir("t2i", data_dir, required=[relative])
    except DataNotFound as e:
        raise DataNotFound(f"{e} The t2i files are conversions of {_SOURCES}; generated-* prompt sets need no files.") from None
    records = [json.loads(line) for line in (folder / relative).read_text(encoding="utf-8").splitlines() if line.strip()]
    convert = _open_ended_task if name == "vpeval-open" else partial(_normalised_task, geneval=name == "geneval")
    tasks = [convert(r) for r in records if keep is None or keep(r)]
    return tasks[:num_prompts] if num_prompts is not None else tasks


def _normalised_task(r: dict[str, Any], geneval: bool = False) -> LayoutTask:
    objects = []
    for o in r["objects"]:
        count, op = o.get("count"), "=="
        if geneval:  # GenEval includes mean "at least count"; its exclude entries make counting prompts exact
            count, op = (None, "==") if count in (None, 1) else (count, ">=")
        objects.append(ObjectReq(o["name"], count, op, o.get("color")))
    objects = _merge_same(objects)
    comparisons: tuple[CompareReq, ...] = ()
    if r.get("comparison"):
        objects, comparisons = _comparison(r["prompt"], objects)
    gt = None
    if r.get("vpgen_layout_text"):
        gt = tuple(parse_layout(r["vpgen_layout_text"]).boxes)
    return LayoutTask(
        task_id=str(r["id"]), prompt=r["prompt"], source=r["source"], skill=r["skill"], objects=tuple(objects),
        relations=tuple(RelationReq(x["subject"], x["relation"], x["object"]) for x in r["relations"]),
        scales=tuple(RelationReq(x["subject"], x["relation"], x["object"]) for x in r.get("scale_relations", [])),
        comparisons=comparisons, excludes=tuple(ExcludeReq(x["name"], int(x["count_at_least"])) for x in r.get("exclude", [])),
        texts=(r["text_to_render"],) if r.get("text_to_render") else (), gt_boxes=gt)


def _merge_same(objects: list[ObjectReq]) -> list[ObjectReq]:
    """"a desk hidden by a desk", "a sofa in front of a couch": one class named twice is one object with the summed count."""
    merged: dict[str, ObjectReq] = {}
    for o in objects:
        key = canonical(o.name)
        if key in merged and merged[key].count is not None and o.count is not None and o.op == merged[key].op == "==":
            merged[key] = ObjectReq(merged[key].name, merged[key].count + o.count, "==", merged[key].color or o.color)
        elif key not in merged:
            merged[key] = o
        else:
            merged[f"{key}#{len(merged)}"] = o
    return list(merged.values())


def _comparison(prompt: str, objects: list[ObjectReq]) -> tuple[list[ObjectReq], tuple[CompareReq, ...]]:
    """NSR-1K "one bed with a few cats, the number of bed is less than that of cats": the vague side
    becomes "at least one" plus a comparison; the stated count stays exact."""
    text = prompt.lower()
    vague = [o for o in objects if re.search(rf"(?:a few|equal number of) (?:{re.escape(o.name)}|{re.escape(plural(o.name))})\b", text)]
    m = re.search(r"the number of (.+?) is (more|less) than that of (.+?)\s*$", text)
    pair = None
    if m:
        a = next((o for o in objects if phrase_matches(o.name, m.group(1))), None)
        b = next((o for o in objects if phrase_matches(o.name, m.group(3))), None)
        if a and b and a is not b:
            pair = CompareReq(a.name, "more" if m.group(2) == "more" else "fewer", b.name)
    elif "equal number of" in text and len(objects) == 2:
        pair = CompareReq(objects[0].name, "equal", objects[1].name)
    if pair is None or not vague:
        return objects, ()
    return [ObjectReq(o.name, None) if o in vague else o for o in objects], (pair,)


def _open_ended_task(r: dict[str, Any]) -> LayoutTask:
    unchecked: list[str] = []
    objects: dict[str, ObjectReq] = {}
    for o in r["objects"]:
        name, cond = o["name"], o.get("count_condition")
        if re.search(r"['()+]", name):
            unchecked.append(f"object `{name}` (garbled in the source program)")
            continue
        count, op = None, "=="
        m = re.fullmatch(r"(==|>=|>)(\d+)", cond or "")
        if m and not (m.group(1) == ">" and m.group(2) == "0"):
            op, count = m.group(1), int(m.group(2))
        key = canonical(name)
        if key not in objects or count is not None:
            objects[key] = ObjectReq(name, count, op)
    relations: list[RelationReq] = [RelationReq(x["subject"], x["relation"], x["object"]) for x in r.get("relations_from_text", [])]
    if not relations:
        for args in r.get("spatial_eval_args", []):
            rel = _OPEN_RELATIONS.get(args[-1].strip().lower()) if len(args) == 3 else None
            if rel is None:
                unchecked.append(f"relation `{', '.join(args)}`")
            elif RelationReq(args[0], rel, args[1]) not in relations:  # ChatGPT wrote (subject, object, relation)
                relations.append(RelationReq(args[0], rel, args[1]))
    unchecked += [f"VQA `{q['question']}` -> {q['answer']}" for q in r.get("vqa_checks", [])]
    return LayoutTask(task_id=str(r["id"]), prompt=" ".join(r["prompt"].split()), source=r["source"], skill="open",
                      objects=tuple(objects.values()), relations=tuple(relations), texts=tuple(r.get("text_to_render") or ()),
                      unchecked=tuple(unchecked))
