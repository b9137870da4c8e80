"""`simple_query` on a scene graph: the question kinds a graph can answer, matched by templates.

Kinds (tried in this order): "What is this?"; colour and material of a thing; what a thing is
doing; indoors/outdoors and weather; "A or B" choices; "Is there a X?"; "Is the X <attribute>?";
"Where is the X?"; "What is the X <relation>?" (subject known: "What is the man holding?",
"What does the snow cover?"); "Who/What is <relation> the Y?" (object known: "Who is wearing a
hat?"); "Which kind of X is <attribute>?". Anything else returns None, and the perception tells the
program that the scene graph cannot answer it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rerest_envs.gqa.perception.base import Box
from rerest_envs.gqa.perception.names import COLORS, MATERIALS, POSES, name_matches, verb_forms, words

if TYPE_CHECKING:
    from rerest_envs.gqa.perception.scene_graph import SceneGraphPerception, SGObject

_WHAT_IS_THIS = re.compile(r"^(what|who) (is|are) (this|it|that|these|those|in the (image|picture|photo))( object| thing)?$|^what object is this$")
_COLOR = re.compile(r"^(?:what|which) colou?r (?:is|are|does|do) (.+?)(?: have| look| looks)?$|^(.+?) (?:is|are) what colou?r$|^what is the colou?r of (.+)$")
_MATERIAL = re.compile(r"^what (?:material )?(?:is|are) (.+?) made (?:of|from)$|^what material (?:is|are) (.+)$")
_DOING = re.compile(r"^what (?:is|are) (.+?) doing$")
_OR = re.compile(r"^(?:is|are|does|do|was) (.+?) (?:look |looks |seem |seems )?(\w+) or (\w+)$")
_THERE = re.compile(r"^(?:is|are) there (?:a |an |any )?(.+)$")
_WHERE = re.compile(r"^where (?:is|are) (.+)$|^(.+?) (?:is|are) where$")
_WHAT_REL = re.compile(r"^(?:what|which (?:kind of |type of )?\w+) (?:is|are|does|do) (.+)$")
_WHO_REL = re.compile(r"^(?:who|what|which (?:kind of |type of )?(\w+)) (?:is|are) (.+)$")
_KIND_ATTR = re.compile(r"^(?:which|what) (?:kind|type) of (\w+) (?:is|are) (\w+)$")
_YESNO = re.compile(r"^(?:is|are) (.+) (\w+)$")
_PLACE_RELATIONS = ("on", "in", "at", "inside", "parked on", "parked in", "standing on", "driving on", "sitting on")


def _clean(question: str) -> str:
    return " ".join(re.sub(r"[?.!,]", " ", question.lower()).split())


def _first_attr(objects: list["SGObject"], allowed: frozenset[str]) -> str | None:
    for o in objects:
        for a in o.attributes:
            if a.lower() in allowed:
                return a.lower()
    return None


def _activity(objects: list["SGObject"]) -> str | None:
    for o in objects:
        ing = [a for a in o.attributes if a.endswith("ing")]
        active = [a for a in ing if a not in POSES]
        if active or ing:
            return (active or ing)[0]
        verbs = [r for r, _ in o.relations if r.split()[0].endswith("ing")]
        if verbs:
            return verbs[0].split()[0]
    return None


def _relation_targets(sg: "SceneGraphPerception", subjects: list["SGObject"], phrase: str) -> list["SGObject"]:
    """Targets of the subjects' relations that `phrase` names (any verb form)."""
    out = []
    for s in subjects:
        for rel, target in s.relations:
            if phrase in verb_forms(rel) and target in sg.objects:
                out.append(sg.objects[target])
    return out


def _split_subject_relation(sg: "SceneGraphPerception", box: Box, ref: str | None, rest: str) -> str | None:
    """"the man holding" -> the name of what the man is holding."""
    ws = rest.split()
    for i in range(len(ws) - 1, 0, -1):
        subjects = sg.resolve(box, ref, " ".join(ws[:i]))
        targets = _relation_targets(sg, subjects, " ".join(ws[i:]))
        if targets:
            return targets[0].name
    return None


def _split_relation_object(sg: "SceneGraphPerception", box: Box, ref: str | None, rest: str, kind: str | None) -> str | None:
    """"wearing a hat" -> the name of who is wearing the hat (a kind of `kind`, when given)."""
    ws = rest.split()
    for i in range(1, len(ws)):
        phrase = " ".join(ws[:i])
        targets = {o.ref for o in sg.resolve(box, None, " ".join(ws[i:]))}
        for o in sg.objects.values():
            if (kind is None or name_matches(kind, o.name)) and any(t in targets and phrase in verb_forms(r) for r, t in o.relations):
                return o.name
    return None


def answer_question(sg: "SceneGraphPerception", box: Box, ref: str | None, question: str) -> str | None:
    """The graph's answer to `question` about the patch `box` (found as `ref`), or None."""
    q = _clean(question)
    focus = sg.focus(box, ref)
    if _WHAT_IS_THIS.match(q):
        objects = [focus] if focus else sg.inside(box)[:1]
        return objects[0].name if objects else None
    if m := _COLOR.match(q):
        return _first_attr(sg.resolve(box, ref, next(g for g in m.groups() if g)), COLORS)
    if m := _MATERIAL.match(q):
        return _first_attr(sg.resolve(box, ref, next(g for g in m.groups() if g)), MATERIALS)
    if m := _DOING.match(q):
        return _activity(sg.resolve(box, ref, m.group(1)))
    if m := _OR.match(q):
        a, b = m.group(2), m.group(3)
        scene = {sg.location, sg.weather}
        for option in (a, b):
            if option in scene:
                return option
        objects = sg.resolve(box, ref, m.group(1)) if words(m.group(1)) not in (["it"], []) else []
        for option in (a, b):
            if any(o.has(option) for o in objects):
                return option
        return None
    if m := _THERE.match(q):
        return "yes" if sg.resolve(box, None, m.group(1)) else "no"
    if m := _WHERE.match(q):
        subjects = sg.resolve(box, ref, next(g for g in m.groups() if g))
        for rel in _PLACE_RELATIONS:
            targets = _relation_targets(sg, subjects, rel)
            if targets:
                return targets[0].name
        return None
    if m := _KIND_ATTR.match(q):
        hits = [o for o in sg.inside(box) if name_matches(m.group(1), o.name) and o.has(m.group(2))]
        if hits:
            return hits[0].name
    if m := _WHAT_REL.match(q):
        answer = _split_subject_relation(sg, box, ref, m.group(1))
        if answer:
            return answer
    if m := _WHO_REL.match(q):
        kind = m.group(1) or ("person" if q.startswith("who") else None)
        answer = _split_relation_object(sg, box, ref, m.group(2), kind)
        if answer:
            return answer
    if m := _YESNO.match(q):
        objects = sg.resolve(box, ref, m.group(1))
        if objects:
            return "yes" if any(o.has(m.group(2)) for o in objects) else "no"
        return _relation_holds(sg, box, ref, q.split(" ", 1)[1])
    return None


def _spatial(relation: str, a: Box, b: Box) -> bool | None:
    """Left/right/above/below from box centres (bottom-origin y); None for other relations."""
    ax, ay, bx, by = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return {"to the left of": ax < bx, "to the right of": ax > bx, "left of": ax < bx, "right of": ax > bx,
            "above": ay > by, "below": ay < by, "under": ay < by}.get(relation)


def _relation_holds(sg: "SceneGraphPerception", box: Box, ref: str | None, rest: str) -> str | None:
    """"the man at the window" -> yes/no: some subject has the relation to some object (or is placed so)."""
    ws = rest.split()
    whole = (0.0, 0.0, float(sg.width), float(sg.height))
    for i in range(1, len(ws) - 1):
        subjects = sg.resolve(box, ref, " ".join(ws[:i])) if words(" ".join(ws[:i])) else []
        if not subjects:
            continue
        for j in range(i + 1, len(ws)):
            phrase, targets = " ".join(ws[i:j]), sg.resolve(whole, None, " ".join(ws[j:]))
            if not targets:
                continue
            refs = {t.ref for t in targets}
            if any(t in refs and phrase in verb_forms(r) for s in subjects for r, t in s.relations):
                return "yes"
            geometric = [_spatial(phrase, s.box, t.box) for s in subjects for t in targets if s is not t]
            if geometric and geometric[0] is not None:
                return "yes" if any(geometric) else "no"
            return "no"
    return None


__all__ = ["answer_question"]
