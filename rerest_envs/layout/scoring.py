"""Score a layout against a `LayoutTask`: named checks, VPEval's thresholds, every failure in words.

A box of zero area (`(10, 10, 10, 50)`) shows no object: it is read (and noted) but never counted,
matched or placed, under either protocol. Checks (the keys of `Feedback.details`, each a list with
one entry per requirement), as `protocol="default"` scores them:
  * `object_present`: at least one box of the object (VPEval objectEval).
  * `count_matches`: the number of its boxes is N (or > N, >= N) (VPEval countEval).
  * `color_named`: a box of the object names the colour in its phrase (`red car`): a layout carries
    colour only there, and GLIGEN draws what the phrase says.
  * `relation_holds`: some (subject, object) box pair satisfies the relation (VPEval spatialEval):
    left_of/right_of/above/below by box centres, beyond a margin of 5/512 of the image side (VPEval's
    5 px on a 512 px image; y grows downwards); next_to: the edge-to-edge gap between the boxes is at
    most 2x the longest side of the larger box, in any direction (every "next to" ground truth of
    NSR-1K's train split meets this; a rule of ours: stacked and even identical boxes pass, boxes
    side by side but farther apart fail, where LayoutGPT and VPEval pass any left/right pair);
    near: at most 3x. A layout has no depth, so in_front_of/behind use the ground-plane cue (the
    subject's bottom edge lower/higher than the object's, beyond the margin), and hidden_by needs at
    least half of the subject's box inside the object's.
  * `scale_holds`: area ratio subject/object (VPEval scaleEval): bigger > 1.05, smaller < 0.95,
    same within 5%.
  * `count_compares`: more/fewer/equal boxes of the subject than of the object (NSR-1K comparisons).
  * `excluded_absent`: fewer than K boxes of an excluded object (GenEval's "must not contain").
  * `text_rendered`: the image shows the word (VPEval textEval). Only an image stage with OCR can
    check it; without one the requirement counts as NOT met and the message says why.
Score = fraction of requirements met; success = all met (and at least one requirement exists).

`protocol="paper"` (`rerest_envs.layout.official`) judges relations by the official rules instead:
LayoutGPT's on NSR-1K tasks (left/right/above/below/next to), VPEval's `spatialEvalDino` on all
others (left/right/above/below, next to by its `next` branch); relations neither rule covers keep
the default rule. On spatial and scale prompts of NSR-1K, VPEval's skill sets and the generator,
the official metric is the relation alone, so the object and count entries get `weight: 0` (in
`details`, not in the score).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any

from rerest_envs.core import Feedback
from rerest_envs.layout.names import phrase_matches, plural, singular
from rerest_envs.layout.official import (
    LAYOUTGPT_RELATIONS, PROTOCOLS, VPEVAL_RELATIONS, direction_error, layoutgpt_holds, vpeval_holds,
)
from rerest_envs.layout.parse import GRID, Box, ParsedLayout, format_layout, join_notes
from rerest_envs.layout.task import CompareReq, ExcludeReq, LayoutTask, ObjectReq, RelationReq

#: Centre offset a left/right/above/below relation needs, as a fraction of the image side (5 px / 512 px).
SPATIAL_MARGIN = 5 / 512
#: next_to: largest edge gap, in multiples of the longest side of the larger box.
NEXT_TO_FACTOR = 2.0
#: near: the same, looser.
NEAR_FACTOR = 3.0
#: hidden_by: share of the subject's box that must lie inside the object's box.
HIDDEN_OVERLAP = 0.5
#: scale: tolerance of VPEval's scaleEval on the area ratio.
SCALE_TOLERANCE = 0.05

_WORDS = {"left_of": "left of", "right_of": "right of", "above": "above", "below": "below", "next_to": "next to",
          "near": "near", "in_front_of": "in front of", "behind": "behind", "hidden_by": "hidden by"}


def _name(name: str) -> str:
    """The singular name for messages ("boys" -> "boy"), keeping the source's words."""
    head, _, last = name.strip().lower().rpartition(" ")
    return f"{head} {singular(last)}".strip()


def _n(count: int, name: str) -> str:
    name = _name(name)
    return f"{count} {name if count == 1 else plural(name)}"


def _a(name: str) -> str:
    name = _name(name)
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _u(value: float) -> str:
    """Grid units for messages: whole numbers without decimals."""
    return str(int(round(value))) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def boxes_of(name: str, boxes: Sequence[Box]) -> list[Box]:
    """The boxes of positive area whose phrase shows `name` (synonyms, plurals, kinds: see `names.phrase_matches`)."""
    return [b for b in boxes if b.area > 0 and phrase_matches(name, b.phrase)]


def _flat_note(name: str, boxes: Sequence[Box]) -> str:
    """" (1 box of zero area does not count)" when the layout has flat boxes of `name`, else ""."""
    n = sum(1 for b in boxes if b.area <= 0 and phrase_matches(name, b.phrase))
    return f" ({n} box{'es' if n > 1 else ''} of zero area do{'' if n > 1 else 'es'} not count)" if n else ""


def _entry(req: str, passed: bool, explanation: str, **evidence: Any) -> dict[str, Any]:
    return {"requirement": req, "passed": passed, "explanation": explanation, **evidence}


# -- checks: each returns one details entry ---------------------------------------------------------
def object_present(req: ObjectReq, boxes: Sequence[Box]) -> dict[str, Any]:
    n = len(boxes_of(req.name, boxes))
    ok = n >= 1
    return _entry(f"{_a(req.name)}", ok, "" if ok else f"the prompt asks for {_a(req.name)}, the layout has none{_flat_note(req.name, boxes)}",
                  found=n)


def count_matches(req: ObjectReq, boxes: Sequence[Box]) -> dict[str, Any]:
    assert req.count is not None
    n = len(boxes_of(req.name, boxes))
    ok = {"==": n == req.count, ">": n > req.count, ">=": n >= req.count}[req.op]
    want = {"==": _n(req.count, req.name), ">": f"more than {_n(req.count, req.name)}", ">=": f"at least {_n(req.count, req.name)}"}[req.op]
    has = "none" if n == 0 else str(n)
    return _entry(want, ok, "" if ok else f"the prompt asks for {want}, the layout has {has}{_flat_note(req.name, boxes)}", expected=req.count,
                  op=req.op, found=n)


def color_named(req: ObjectReq, boxes: Sequence[Box]) -> dict[str, Any]:
    assert req.color is not None
    mine = boxes_of(req.name, boxes)
    ok = any(req.color.lower() in b.phrase.lower().split() for b in mine)
    why = "" if ok else (f"the {_name(req.name)} should be {req.color}, but no box of it names the colour (write it in the phrase, "
                         f"e.g. `{req.color} {_name(req.name)}`)" if mine else f"the prompt asks for {_a(req.color + ' ' + _name(req.name))}, the layout has none")
    return _entry(f"{req.color} {_name(req.name)}", ok, why)


def _pair_gap(s: Box, o: Box) -> float:
    gx = max(0.0, max(s.x1, o.x1) - min(s.x2, o.x2))
    gy = max(0.0, max(s.y1, o.y1) - min(s.y2, o.y2))
    return max(gx, gy)


def _intersection(s: Box, o: Box) -> float:
    return max(0.0, min(s.x2, o.x2) - max(s.x1, o.x1)) * max(0.0, min(s.y2, o.y2) - max(s.y1, o.y1))


def _relation_margin(rel: str, s: Box, o: Box) -> float:
    """How far the pair is from meeting `rel`, in grid units: > 0 met, <= 0 not met."""
    margin = SPATIAL_MARGIN * GRID
    (sx, sy), (ox, oy) = s.center, o.center
    if rel == "left_of":
        return (ox - sx) - margin
    if rel == "right_of":
        return (sx - ox) - margin
    if rel == "above":
        return (oy - sy) - margin
    if rel == "below":
        return (sy - oy) - margin
    if rel in ("next_to", "near"):
        longest = max(s.x2 - s.x1, s.y2 - s.y1, o.x2 - o.x1, o.y2 - o.y1)
        limit = (NEXT_TO_FACTOR if rel == "next_to" else NEAR_FACTOR) * longest
        return limit - _pair_gap(s, o) + 1e-9
    if rel == "in_front_of":
        return (s.y2 - o.y2) - margin
    if rel == "behind":
        return (o.y2 - s.y2) - margin
    if rel == "hidden_by":
        return _intersection(s, o) - HIDDEN_OVERLAP * s.area + 1e-9
    raise ValueError(f"unknown relation {rel!r}; expected one of {list(_WORDS)}")


def _explain_relation(rel: str, subj: str, obj: str, s: Box, o: Box) -> str:
    (sx, sy), (ox, oy) = s.center, o.center
    want = f"the {subj} should be {_WORDS[rel]} the {obj}"
    dx, dy = sx - ox, sy - oy
    if rel in ("left_of", "right_of"):
        side = "to the right" if dx > 0 else "to the left"
        return f"{want} but its centre is {_u(abs(dx))} units {side}" if abs(dx) >= 0.5 else f"{want} but their centres are level"
    if rel in ("above", "below"):
        side = "lower" if dy > 0 else "higher"
        return f"{want} but its centre is {_u(abs(dy))} units {side}" if abs(dy) >= 0.5 else f"{want} but their centres are at the same height"
    if rel in ("next_to", "near"):
        longest = max(s.x2 - s.x1, s.y2 - s.y1, o.x2 - o.x1, o.y2 - o.y1)
        limit = (NEXT_TO_FACTOR if rel == "next_to" else NEAR_FACTOR) * longest
        return f"{want} but the boxes are {_u(_pair_gap(s, o))} units apart (at most {_u(limit)} allowed for boxes this size)"
    if rel in ("in_front_of", "behind"):
        d = s.y2 - o.y2
        side = "lower" if d > 0 else "higher"
        cue = "lower" if rel == "in_front_of" else "higher"
        return f"{want} (its bottom edge {cue} in the image) but its bottom edge is {_u(abs(d))} units {side}" if abs(d) >= 0.5 else \
            f"{want} (its bottom edge {cue} in the image) but both bottom edges are level"
    share = _intersection(s, o) / s.area if s.area else 0.0
    return f"{want} (at least half of its box inside the {obj}'s box) but only {share:.0%} is"


def relation_holds(req: RelationReq, boxes: Sequence[Box], rule: str = "default") -> dict[str, Any]:
    """Whether some (subject, object) box pair meets the relation, by `rule`: `default` (ours),
    `layoutgpt` or `vpeval` (the official rules, `rerest_envs.layout.official`)."""
    subj, obj = _name(req.subject), _name(req.object)
    text = f"{subj} {_WORDS[req.relation]} {obj}"
    if rule == "layoutgpt":
        return _layoutgpt_entry(req, boxes, text)
    ss, os_ = boxes_of(req.subject, boxes), boxes_of(req.object, boxes)
    if not ss or not os_:
        missing = " and no ".join(_name(n) for n, bs in ((req.subject, ss), (req.object, os_)) if not bs)
        flat = _flat_note(req.subject, boxes) or _flat_note(req.object, boxes)
        return _entry(text, False, f"the {subj} should be {_WORDS[req.relation]} the {obj} but the layout has no {missing}{flat}")
    best = max(((s, o) for s in ss for o in os_ if s is not o), key=lambda p: _relation_margin(req.relation, *p), default=None)
    if best is None:  # the same box matched both names
        return _entry(text, False, f"the {subj} should be {_WORDS[req.relation]} the {obj} but one box stands for both")
    if rule == "vpeval":
        ok = vpeval_holds(req.subject, req.relation, req.object, boxes)
        why = _explain_relation(req.relation, subj, obj, *best)
        if req.relation == "next_to":
            dx = abs(best[0].center[0] - best[1].center[0])
            why = (f"the {subj} should be next to the {obj} (VPEval: its centre more than 5 px of 512 to the left or right) "
                   f"but the centres are only {_u(dx)} units apart sideways")
        return _entry(text, ok, "" if ok else why, subject_box=best[0].coords(), object_box=best[1].coords())
    ok = _relation_margin(req.relation, *best) > 0
    return _entry(text, ok, "" if ok else _explain_relation(req.relation, subj, obj, *best),
                  subject_box=best[0].coords(), object_box=best[1].coords())


def _layoutgpt_entry(req: RelationReq, boxes: Sequence[Box], text: str) -> dict[str, Any]:
    """LayoutGPT's verdict (names by difflib, 45-degree cones between centres), explained."""
    subj, obj = _name(req.subject), _name(req.object)
    want = f"the {subj} should be {_WORDS[req.relation]} the {obj}"
    verdict, relations = layoutgpt_holds(req.subject, req.relation, req.object, boxes)
    if verdict == "miss":
        flat = _flat_note(req.subject, boxes) or _flat_note(req.object, boxes)
        names = [b.phrase for b in boxes if b.area > 0]
        missing = " or ".join(f"`{n}`" for n in (req.subject, req.object) if not difflib.get_close_matches(n, names)[:1])
        return _entry(text, False, f"{want} but no box is named closely enough to {missing or 'both'} "
                      f"(LayoutGPT matches names with difflib){flat}", relations=[])
    if verdict == "correct":
        return _entry(text, True, "", relations=relations)
    pairs = [(s, o) for s in boxes_of(req.subject, boxes) for o in boxes_of(req.object, boxes) if s is not o]
    if pairs and req.relation in ("left_of", "right_of", "above", "below", "next_to"):
        error = min(direction_error(s, o, req.relation) for s, o in pairs)
        side = "straight left or right" if req.relation == "next_to" else f"straight {_WORDS[req.relation].split()[0]}"
        why = f"{want} but its centre lies {error:.1f} degrees off {side} of the {obj}'s centre (LayoutGPT needs less than 45)"
    else:
        why = f"{want} but no pair of their boxes is (LayoutGPT read {sorted(set(relations))})"
    return _entry(text, False, why, relations=relations)


def _scale_margin(rel: str, ratio: float) -> float:
    if rel == "bigger":
        return ratio - (1 + SCALE_TOLERANCE)
    if rel == "smaller":
        return (1 - SCALE_TOLERANCE) - ratio
    return SCALE_TOLERANCE - abs(1 - ratio)


def scale_holds(req: RelationReq, boxes: Sequence[Box]) -> dict[str, Any]:
    subj, obj = _name(req.subject), _name(req.object)
    words = {"bigger": "bigger than", "smaller": "smaller than", "same": "the same size as"}[req.relation]
    text = f"{subj} {words} {obj}"
    ss, os_ = boxes_of(req.subject, boxes), boxes_of(req.object, boxes)
    if not ss or not os_:
        missing = " and no ".join(_name(n) for n, bs in ((req.subject, ss), (req.object, os_)) if not bs)
        return _entry(text, False, f"the {subj} should be {words} the {obj} but the layout has no {missing}")
    pairs = [(s, o, s.area / max(o.area, 1e-9)) for s in ss for o in os_ if s is not o]
    if not pairs:
        return _entry(text, False, f"the {subj} should be {words} the {obj} but one box stands for both")
    s, o, ratio = max(pairs, key=lambda p: _scale_margin(req.relation, p[2]))
    ok = _scale_margin(req.relation, ratio) > 0
    why = f"the {subj} should be {words} the {obj} but its box area is {ratio:.2f} times the {obj}'s"
    if req.relation == "same":
        why += f" (within {SCALE_TOLERANCE:.0%} of 1 needed)"
    return _entry(text, ok, "" if ok else why, area_ratio=round(ratio, 4))


def count_compares(req: CompareReq, boxes: Sequence[Box]) -> dict[str, Any]:
    ns, no = len(boxes_of(req.subject, boxes)), len(boxes_of(req.object, boxes))
    ok = {"more": ns > no, "fewer": ns < no, "equal": ns == no}[req.relation]
    ps, po = plural(_name(req.subject)), plural(_name(req.object))
    want = {"more": f"more {ps} than {po}", "fewer": f"fewer {ps} than {po}", "equal": f"as many {ps} as {po}"}[req.relation]
    return _entry(want, ok, "" if ok else f"the prompt asks for {want}, the layout has {ns} and {no}", found=[ns, no])


def excluded_absent(req: ExcludeReq, boxes: Sequence[Box]) -> dict[str, Any]:
    n = len(boxes_of(req.name, boxes))
    ok = n < req.count_at_least
    limit = "no " + plural(_name(req.name)) if req.count_at_least == 1 else f"fewer than {_n(req.count_at_least, req.name)}"
    return _entry(limit, ok, "" if ok else f"the prompt asks for {limit}, the layout has {n}", found=n)


def text_rendered(word: str, image_texts: Sequence[str] | None) -> dict[str, Any]:
    if image_texts is None:
        return _entry(f"the text '{word}'", False, f"the image should show the text '{word}', which only an image model with OCR can check "
                      "(pass image_stage=...); none is configured, so this requirement counts as not met", checked=False)
    read = [t.lower() for t in image_texts]
    ok = word.lower() in read
    return _entry(f"the text '{word}'", ok, "" if ok else f"the image should show the text '{word}', OCR read {read[:5] or 'nothing'}", checked=True)


# -- the whole layout --------------------------------------------------------------------------------
CHECKS: tuple[str, ...] = ("object_present", "count_matches", "color_named", "relation_holds", "scale_holds", "count_compares",
                           "excluded_absent", "text_rendered")


#: Sources whose spatial and scale prompts the official evaluators score by the relation alone.
_RELATION_ONLY_SOURCES = frozenset({"nsr1k", "generated", "vpeval_skill"})


def relation_rule(task: LayoutTask, relation: str, protocol: str = "default") -> str:
    """Which rule judges `relation` on `task`: `default`, `layoutgpt` (NSR-1K, paper) or `vpeval` (others, paper)."""
    if protocol != "paper":
        return "default"
    if task.source == "nsr1k":
        return "layoutgpt" if relation in LAYOUTGPT_RELATIONS else "default"
    return "vpeval" if relation in VPEVAL_RELATIONS else "default"


def run_checks(task: LayoutTask, boxes: Sequence[Box], image_texts: Sequence[str] | None = None,
               protocol: str = "default") -> dict[str, list[dict[str, Any]]]:
    """Every requirement of `task` checked on `boxes`; keys are check names (empty lists dropped).

    Raises:
        ValueError: `protocol` is not one of `PROTOCOLS`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r} is not one of {list(PROTOCOLS)}.")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CHECKS}
    for req in task.objects:
        if req.count is None:
            results["object_present"].append(object_present(req, boxes))
        else:
            results["count_matches"].append(count_matches(req, boxes))
        if req.color:
            results["color_named"].append(color_named(req, boxes))
    if protocol == "paper" and task.skill in ("spatial", "scale") and task.source in _RELATION_ONLY_SOURCES \
            and (task.relations or task.scales):
        for key in ("object_present", "count_matches", "color_named"):
            results[key] = [{**e, "weight": 0} for e in results[key]]
    results["relation_holds"] = [relation_holds(r, boxes, relation_rule(task, r.relation, protocol)) for r in task.relations]
    groups: list[tuple[str, Sequence[Any], Callable[[Any, Sequence[Box]], dict[str, Any]]]] = [
        ("scale_holds", task.scales, scale_holds), ("count_compares", task.comparisons, count_compares),
        ("excluded_absent", task.excludes, excluded_absent)]
    for key, reqs, check in groups:
        results[key] = [check(r, boxes) for r in reqs]
    results["text_rendered"] = [text_rendered(w, image_texts) for w in task.texts]
    return {k: v for k, v in results.items() if v}


def score_layout(task: LayoutTask, parsed: ParsedLayout, *, image_texts: Sequence[str] | None = None, privileged: str = "",
                 extra_notes: Sequence[str] = (), protocol: str = "default") -> Feedback:
    """The final `Feedback` for a layout: score, success, one line per failed requirement.

    Entries with `weight: 0` (paper protocol) are reported in `details` only.
    """
    checks = run_checks(task, parsed.boxes, image_texts, protocol)
    entries = [e for group in checks.values() for e in group if e.get("weight", 1)]
    met = sum(e["passed"] for e in entries)
    total = len(entries)
    failed = [e["explanation"] for e in entries if not e["passed"]]
    lines: list[str] = []
    if parsed.errors:
        lines.append("Could not read the layout: " + join_notes(parsed.errors))
    if total == 0:
        lines.append("Nothing in this prompt can be checked on a layout, so it cannot be scored.")
    elif met == total:
        lines.append(f"All {total} requirement{'s' if total > 1 else ''} met.")
    else:
        lines.append(f"{met} of {total} requirements met.")
        lines += [f"- {why}" for why in failed]
    notes = list(extra_notes) + parsed.notes
    if notes:
        lines.append("While reading your answer: " + join_notes(notes) + ".")
    if task.unchecked:
        lines.append("Not checked on a layout: " + "; ".join(task.unchecked) + ".")
    details: dict[str, Any] = dict(checks)
    details["layout"] = [[b.phrase, b.x1, b.y1, b.x2, b.y2] for b in parsed.boxes]
    if parsed.boxes and not parsed.errors:  # what was read, in the answer format: scores the same
        details["canonical_action"] = format_layout(list(parsed.boxes))
    details["parse"] = {"notes": list(notes), "errors": list(parsed.errors)}
    details["not_checked"] = list(task.unchecked)
    return Feedback(success=total > 0 and met == total, score=met / total if total else 0.0, message="\n".join(lines),
                    privileged=privileged, details=details)
