"""The official evaluators' spatial rules, transcribed for `protocol="paper"`, and the adapters that feed them a layout.

Transcribed line for line (names, argument order, comparisons, numpy arithmetic), only `self` and
I/O removed:

- LayoutGPT, `weixi-feng/LayoutGPT` @ fc31954962553e5b65bf267a904a6930d50b1f5e: `utils.py`
  (`bb_relative_position`, `eval_spatial_relation`) and the per-response body of the loop in
  `eval_spatial_layout.py` (`layoutgpt_spatial_verdict`). Boxes are `[x1, y1, x2, y2]` in [0, 1]
  (LayoutGPT's `parse_layout` writes them so); the relation of box 1 to box 2 is the direction of
  the line between the centres: within 45 degrees of straight right (cos > sqrt(2)/2) `right`, else
  of straight up `top`, left `left`, down `bottom`, otherwise `diagonal`; identical boxes are
  `diagonal`. A prompt passes when any (obj1 box, obj2 box) pair has the reference relation;
  `next to` passes on `left` or `right`. Names are matched with `difflib.get_close_matches` (the
  one closest predicted name, ratio >= 0.6); all-zero boxes are dropped.
- VPEval, `aszala/VPEval` @ 4a54904b9c4547ee57a54af42410bc490a5ff8ec: `src/evaluation_functions.py`
  (`spatialEvalDino`, and the relation words of `spatialEval`). Boxes in pixels of the generated
  image with a depth value as fifth entry; the triple `(A, B, rel)` means "B is rel of A"; a pair
  passes when B's centre is more than 5 px beyond A's (left/right on x, above/below on y; `next`:
  either side on x); at least two detections are needed.

Adapters (the deliberate differences, also listed in `LayoutEnv`'s manual): our layouts are VPGen
text on the 0-99 grid, so LayoutGPT gets each box as `v / 99` (VPGen's `round(v * 99)` undone) and
VPEval as `v / 99 * 512` px (GLIGEN's 512 px image); the detector's labels are the layout's own
phrases, a box labelled with the first query name it shows (`names.phrase_matches`); a layout has no
depth (fifth entry 0). Zero-area boxes are dropped before either rule (LayoutGPT drops only all-zero
ones; a detector finds no zero-area object).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import numpy as np

from rerest_envs.layout.names import phrase_matches
from rerest_envs.layout.parse import GRID, Box

#: Scoring protocols: "default" (lenient, ours) and "paper" (the official evaluators' rules).
PROTOCOLS: tuple[str, ...] = ("default", "paper")
#: Side of the image VPEval's detector sees (VPGen's GLIGEN draws 512 x 512).
IMAGE_PX = 512
#: Our relation names -> LayoutGPT's `relation` values (NSR-1K `spatial.val.json`); obj1 = subject, obj2 = object.
LAYOUTGPT_RELATIONS: dict[str, str] = {"left_of": "left", "right_of": "right", "above": "top", "below": "bottom", "next_to": "next to"}
#: Our relation names -> `spatialEvalDino`'s `target_relation` (front/behind need depth, which a layout lacks).
VPEVAL_RELATIONS: dict[str, str] = {"left_of": "left", "right_of": "right", "above": "above", "below": "below", "next_to": "next"}


# -- LayoutGPT utils.py (transcribed) ---------------------------------------------------------------
def bb_relative_position(boxA, boxB):  # type: ignore[no-untyped-def]
    xA_c = (boxA[0]+boxA[2])/2
    yA_c = (boxA[1]+boxA[3])/2
    xB_c = (boxB[0]+boxB[2])/2
    yB_c = (boxB[1]+boxB[3])/2
    dist = np.sqrt((xA_c - xB_c)**2 + (yA_c - yB_c)**2)
    cosAB = (xA_c-xB_c) / dist
    sinAB = (yB_c-yA_c) / dist
    return cosAB, sinAB


def eval_spatial_relation(bbox1, bbox2):  # type: ignore[no-untyped-def]
    theta = np.sqrt(2)/2
    relation = 'diagonal'

    if bbox1 == bbox2:
        return relation

    with np.errstate(divide="ignore", invalid="ignore"):  # ours: same centres, different boxes -> nan -> 'diagonal', silently
        cosine, sine = bb_relative_position(bbox1, bbox2)

    if cosine > theta:
        relation = 'right'
    elif sine > theta:
        relation = 'top'
    elif cosine < -theta:
        relation = 'left'
    elif sine < -theta:
        relation = 'bottom'

    return relation


# -- LayoutGPT eval_spatial_layout.py, the body of `for r in responses` (transcribed) ----------------
def layoutgpt_spatial_verdict(object_list: list[list[Any]], obj1: str, obj2: str, ref_relation: str) -> tuple[str, list[str]]:
    """One response's verdict: `("correct" | "miss" | "wrong", all_relations)`.

    `object_list` is LayoutGPT's `r['object_list']` (`[name, [x1, y1, x2, y2]]`), `obj1`/`obj2` the
    reference's object names, `ref_relation` its `relation`. "miss" is LayoutGPT's `n_miss` (obj1 or
    obj2 not found); only "correct" counts in its accuracy.
    """
    pred_objects = [obj for obj in object_list if obj[1] != [0]*4 and obj[0] != None]  # noqa: E711

    all_objects = [pred_obj[0] for pred_obj in pred_objects]
    close_obj1 = difflib.get_close_matches(obj1, all_objects)[:1]
    pred_bbox1 = [obj[1] for i, obj in enumerate(pred_objects) if obj[0] in close_obj1]

    if len(pred_bbox1) == 0:
        return "miss", []

    close_obj2 = difflib.get_close_matches(obj2, all_objects)[:1]
    pred_bbox2 = [obj[1] for i, obj in enumerate(pred_objects) if obj[0] in close_obj2]
    if len(pred_bbox2) == 0:
        return "miss", []

    all_relations = [eval_spatial_relation(b1, b2) for b1 in pred_bbox1 for b2 in pred_bbox2]

    if ref_relation in all_relations:
        return "correct", all_relations
    else:
        if ref_relation == 'next to' and ('left' in all_relations or 'right' in all_relations):
            return "correct", all_relations
        else:
            pass
    return "wrong", all_relations


# -- VPEval src/evaluation_functions.py spatialEvalDino (transcribed) --------------------------------
def spatial_eval_dino(gt_labels, objects, target_relation: str, **kwargs):  # type: ignore[no-untyped-def]
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

        center_points = [ ]

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
                    diff = o2X - o1X

                    if diff < -diff_threshold:
                        return True
                elif target_relation == "right":
                    diff = o2X - o1X

                    if diff > diff_threshold:
                        return True
                elif target_relation == "above":
                    diff = o2Y - o1Y

                    if diff < -diff_threshold:
                        return True
                elif target_relation == "below":
                    diff = o2Y - o1Y

                    if diff > diff_threshold:
                        return True
                elif target_relation == "front":
                    if o2Z < o1Z:
                        return True
                elif target_relation == "behind":
                    if o2Z > o1Z:
                        return True

    return False


# -- adapters: a layout as each evaluator's input ----------------------------------------------------
def layoutgpt_object_list(boxes: Sequence[Box]) -> list[list[Any]]:
    """A layout as LayoutGPT's `object_list`: `[phrase, [x1, y1, x2, y2] / 99]`, zero-area boxes dropped."""
    return [[b.phrase, [b.x1 / GRID, b.y1 / GRID, b.x2 / GRID, b.y2 / GRID]] for b in boxes if b.area > 0]


def vpeval_detections(boxes: Sequence[Box], queries: Sequence[str]) -> tuple[list[str], list[list[float]], str, str]:
    """A layout as VPEval's `objDet(image, ",".join(queries))` output: each positive-area box that shows
    a query name, labelled with the first such name, in pixels of a 512 px image, depth 0."""
    labels: list[str] = []
    pixels: list[list[float]] = []
    scale = IMAGE_PX / GRID
    for b in boxes:
        if b.area <= 0:
            continue
        label = next((q for q in queries if phrase_matches(q, b.phrase)), None)
        if label is not None:
            labels.append(label)
            pixels.append([b.x1 * scale, b.y1 * scale, b.x2 * scale, b.y2 * scale, 0.0])
    return labels, pixels, "layout", ",".join(queries)


def layoutgpt_holds(subject: str, relation: str, obj: str, boxes: Sequence[Box]) -> tuple[str, list[str]]:
    """LayoutGPT's verdict on "subject <relation> object" for a layout (relation in `LAYOUTGPT_RELATIONS`)."""
    return layoutgpt_spatial_verdict(layoutgpt_object_list(boxes), subject, obj, LAYOUTGPT_RELATIONS[relation])


def vpeval_holds(subject: str, relation: str, obj: str, boxes: Sequence[Box]) -> bool:
    """VPEval's verdict on "subject <relation> object": `spatialEvalDino([object, subject], ...)` ("B is rel of A")."""
    return bool(spatial_eval_dino([obj, subject], vpeval_detections(boxes, (obj, subject)), VPEVAL_RELATIONS[relation]))


def direction_error(subject: Box, obj: Box, relation: str) -> float:
    """Degrees between the object->subject centre line and the direction `relation` names (for messages)."""
    (sx, sy), (ox, oy) = subject.center, obj.center
    angle = float(np.degrees(np.arctan2(oy - sy, sx - ox)))  # 0 = right, 90 = up (y grows downwards)
    targets = {"right_of": (0.0,), "above": (90.0,), "left_of": (180.0,), "below": (-90.0,), "next_to": (0.0, 180.0)}[relation]
    return min(abs((angle - t + 180.0) % 360.0 - 180.0) for t in targets)
