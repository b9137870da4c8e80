"""`LayoutTask`: one prompt and the requirements a layout for it must meet.

Every prompt set (VPEval, GenEval, NSR-1K, T2I-CompBench, the template generator) is loaded into
this one shape, so the scorer and the reference-layout builder never look at a source format.
Names are kept as the source writes them; matching is done by `names.phrase_matches`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rerest_envs.layout.parse import Box

#: Spatial relations the scorer can judge on boxes ("subject is <relation> object").
RELATIONS = ("left_of", "right_of", "above", "below", "next_to", "near", "in_front_of", "behind", "hidden_by")
#: Scale relations (area of subject vs area of object).
SCALE_RELATIONS = ("bigger", "smaller", "same")
#: Count comparisons ("more X than Y").
COMPARISONS = ("more", "fewer", "equal")
#: Count operators: "==" exactly N, ">" more than N, ">=" at least N.
COUNT_OPS = ("==", ">", ">=")


@dataclass(frozen=True)
class ObjectReq:
    """An object the layout must show: `count=None` means at least one."""

    name: str
    count: int | None = None
    op: str = "=="
    color: str | None = None


@dataclass(frozen=True)
class RelationReq:
    """"subject is <relation> object", relation one of `RELATIONS` (or `SCALE_RELATIONS` for scale)."""

    subject: str
    relation: str
    object: str


@dataclass(frozen=True)
class CompareReq:
    """"more/fewer/equal subjects than objects" (NSR-1K comparison prompts)."""

    subject: str
    relation: str
    object: str


@dataclass(frozen=True)
class ExcludeReq:
    """GenEval's "must not contain": fewer than `count_at_least` boxes of `name`."""

    name: str
    count_at_least: int


@dataclass(frozen=True)
class LayoutTask:
    """One prompt with its requirements.

    Attributes:
        task_id: Unique within its prompt set.
        prompt: The caption the agent turns into a layout.
        source: Where it comes from (`vpeval_skill`, `geneval`, `nsr1k`, `t2i_compbench`, `generated`, ...).
        skill: `object`, `count`, `spatial`, `spatial_3d`, `scale`, `text`, `color`, `open`, ...
        objects, relations, scales, comparisons, excludes: Requirements checked on the boxes.
        texts: Words the image must show (scored only with an image stage that reads text).
        unchecked: Requirements of the source that no layout can show (VQA questions, odd relations),
            in words; reported, never scored.
        gt_boxes: Ground-truth layout where the data has a usable one (NSR-1K), else None.
        gt_problem: Why the record's ground truth was set aside at load ("image_id -1; all boxes
            zero", "no boxes"), or "" (none, or a usable one). Such a layout is never shown as ground truth.
    """

    task_id: str
    prompt: str
    source: str
    skill: str
    objects: tuple[ObjectReq, ...] = ()
    relations: tuple[RelationReq, ...] = ()
    scales: tuple[RelationReq, ...] = ()
    comparisons: tuple[CompareReq, ...] = ()
    excludes: tuple[ExcludeReq, ...] = ()
    texts: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()
    gt_boxes: tuple[Box, ...] | None = None
    gt_problem: str = ""
