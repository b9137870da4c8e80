"""Prompt sets: each name maps to a loader that returns `LayoutTask`s.

File-backed sets read the normalised JSONL files of the `t2i` task folder through the data layer
(`$RERST_DATA_DIR/t2i`, see `../shared/data/t2i/README.md`); `generated-*` sets need no files;
`load_records` reads any file of that normalised format. A record's ground-truth layout (NSR-1K)
that is empty or degenerate (`image_id: -1`, boxes of zero area, as in NSR-1K's val split) is set
aside at load: `gt_boxes=None` and `gt_problem` says why.
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
from rerest_envs.layout.parse import GRID, Box, parse_layout
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
#: File-backed sets the t2i data does not distribute (held out for acceptance): read when a user has the file.
HELD_OUT_SETS: dict[str, tuple[str, Callable[[dict[str, Any]], bool] | None]] = {
    "nsr1k-spatial-val": ("layouts/nsr1k_spatial_val.jsonl", None),
}
#: Generated prompt sets: name -> the kinds mixed in it (equal shares, interleaved).
GENERATED_SETS: dict[str, tuple[str, ...]] = {
    "generated-count": ("count",),
    "generated-spatial": ("spatial",),
    "generated-scale": ("scale",),
    "generated-count-spatial": ("count", "spatial"),
    "generated-mixed": KINDS,
}
PROMPT_SETS: tuple[str, ...] = (*FILE_SETS, *HELD_OUT_SETS, *GENERATED_SETS)
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
    if name not in FILE_SETS and name not in HELD_OUT_SETS:
        import difflib

        close = difflib.get_close_matches(name, PROMPT_SETS, n=3)
        raise ValueError(f"prompt_set={name!r} is not a prompt set{f'; did you mean {close}?' if close else ''} Choose one of {list(PROMPT_SETS)}.")
    if split != "train":
        raise ValueError(f"split={split!r} applies to generated-* prompt sets only; {name} is one fixed evaluation set (leave split at 'train').")
    relative, keep = FILE_SETS[name] if name in FILE_SETS else HELD_OUT_SETS[name]
    try:
        folder = resolve_data_dir("t2i", data_dir, required=[relative])
    except DataNotFound as e:
        if name == "nsr1k-spatial-val":
            raise DataNotFound(f"{e} prompt_set='nsr1k-spatial-val' is NSR-1K's spatial val split, not distributed with the t2i data: "
                               f"put your copy there as {relative} in the normalised format of ../shared/data/t2i/README.md, "
                               "or pass records=PATH.") from None
        raise DataNotFound(f"{e} The t2i files are conversions of {_SOURCES}; generated-* prompt sets need no files.") from None
    records = [json.loads(line) for line in (folder / relative).read_text(encoding="utf-8").splitlines() if line.strip()]
    convert = _open_ended_task if name == "vpeval-open" else partial(_normalised_task, geneval=name == "geneval")
    tasks = [convert(r) for r in records if keep is None or keep(r)]
    return tasks[:num_prompts] if num_prompts is not None else tasks


#: Fields every normalised record has (../shared/data/t2i/README.md); open-ended VPEval records have their own.
RECORD_FIELDS: tuple[str, ...] = ("id", "prompt", "source", "skill", "objects", "relations")
_FORMAT = "normalised t2i records, one JSON object a line (../shared/data/t2i/README.md)"


def load_records(path: str | Path, *, num_prompts: int | None = None) -> list[LayoutTask]:
    """The tasks of any JSONL file of normalised t2i records (any source; VPEval open-ended records too).

    Args:
        path: The file.
        num_prompts: Keep only the first N records (None: all).

    Raises:
        DataNotFound: `path` is not a file.
        ValueError: A line that is not a record of the format (its number and what is wrong), no
            record at all, or an id used twice.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataNotFound(f"records={str(file)!r} is not a file; pass a JSONL file of {_FORMAT}.")
    tasks: list[LayoutTask] = []
    seen: dict[str, int] = {}
    with file.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"records={str(file)!r} line {n}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where} is not JSON ({e.msg}); the file must hold {_FORMAT}.") from None
            task = _record_task(r, where)
            if task.task_id in seen:
                raise ValueError(f"{where} repeats id {task.task_id!r} of line {seen[task.task_id]}; ids must be unique.")
            seen[task.task_id] = n
            tasks.append(task)
            if num_prompts is not None and len(tasks) >= num_prompts:
                break
    if not tasks:
        raise ValueError(f"records={str(file)!r} holds no record; it must hold {_FORMAT}.")
    return tasks


def _record_task(r: Any, where: str) -> LayoutTask:
    if not isinstance(r, dict):
        raise ValueError(f"{where} is a JSON {type(r).__name__}, not a record object; the file must hold {_FORMAT}.")
    open_ended = r.get("source") == "vpeval_open_ended"
    needed = ("id", "prompt", "source", "objects") if open_ended else RECORD_FIELDS
    missing = [k for k in needed if k not in r]
    if missing:
        raise ValueError(f"{where} lacks {missing}; every record needs {list(needed)} ({_FORMAT}).")
    try:
        return _open_ended_task(r) if open_ended else _normalised_task(r, geneval=r["source"] == "geneval")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ValueError(f"{where} is not a valid record ({type(e).__name__}: {e}); see {_FORMAT}.") from None


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
    gt, problem = _ground_truth(r)
    return LayoutTask(
        task_id=str(r["id"]), prompt=r["prompt"], source=r["source"], skill=r["skill"], objects=tuple(objects),
        relations=tuple(RelationReq(x["subject"], x["relation"], x["object"]) for x in r["relations"]),
        scales=tuple(RelationReq(x["subject"], x["relation"], x["object"]) for x in r.get("scale_relations", [])),
        comparisons=comparisons, excludes=tuple(ExcludeReq(x["name"], int(x["count_at_least"])) for x in r.get("exclude", [])),
        texts=(r["text_to_render"],) if r.get("text_to_render") else (), gt_boxes=gt, gt_problem=problem)


def _ground_truth(r: dict[str, Any]) -> tuple[tuple[Box, ...] | None, str]:
    """The record's ground-truth boxes, or (None, why) when it claims one that is empty or degenerate."""
    if "vpgen_layout_text" not in r and "layout" not in r:
        return None, ""
    problems = []
    if r.get("coco_image_id", r.get("image_id")) == -1:
        problems.append("image_id -1")
    if r.get("vpgen_layout_text"):
        boxes = parse_layout(r["vpgen_layout_text"]).boxes
    else:
        boxes = [Box(str(b.get("name", "")), *(float(round(float(v) * GRID)) for v in b["box_xyxy"]))
                 for b in r.get("layout") or [] if len(b.get("box_xyxy") or ()) == 4]
    flat = sum(1 for b in boxes if b.area <= 0)
    if not boxes:
        problems.append("no boxes")
    elif flat:
        problems.append("all boxes of zero area" if flat == len(boxes) else f"{flat} of {len(boxes)} boxes of zero area")
    return (None, "; ".join(problems)) if problems else (tuple(boxes), "")


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
    vague = [o for o in objects if re.search(rf"(?:a few|equal number of) (?:{'|'.join(map(re.escape, _spellings(o.name)))})\b", text)]
    m = re.search(r"the number of (.+?) is (more|less) than that of (.+?)\s*$", text)
    pair = None
    if m:
        a = next((o for o in objects if _names(o.name, m.group(1))), None)
        b = next((o for o in objects if _names(o.name, m.group(3))), None)
        if a and b and a is not b:
            pair = CompareReq(a.name, "more" if m.group(2) == "more" else "fewer", b.name)
    elif "equal number of" in text and len(objects) == 2:
        pair = CompareReq(objects[0].name, "equal", objects[1].name)
    if pair is None or not vague:
        return objects, ()
    return [ObjectReq(o.name, None) if o in vague else o for o in objects], (pair,)


def _spellings(name: str) -> tuple[str, ...]:
    """How NSR-1K writes a name: as is, its plural, and its template's plain `+s` ("a few buss")."""
    return (name, plural(name), name + "s")


def _names(name: str, written: str) -> bool:
    """Whether `written` (from a comparison clause) names `name`, the source's `+s` plural included."""
    return phrase_matches(name, written) or written.strip() in _spellings(name)


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
