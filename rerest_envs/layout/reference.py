"""A reference layout for any task: boxes built to meet its requirements (the env's "gold" answer).

Only NSR-1K has ground-truth layouts; for every other prompt the env builds one, so that a
reflector can be shown a correct layout (privileged feedback) and tests can check that the gold
answer wins. The builder places the subject and object of the first spatial or scale requirement
in two regions that satisfy it, every other object in a strip aside, and splits each region into
one cell per instance. It handles one relation per prompt (all data sets here have at most one
that a layout can show, except a few VPEval open-ended prompts); callers check the result with the
scorer and use it only when it scores 1.
"""

from __future__ import annotations

from rerest_envs.layout.names import canonical
from rerest_envs.layout.parse import Box
from rerest_envs.layout.task import LayoutTask

Rect = tuple[float, float, float, float]

#: relation -> (subject region, object region, strip for the other objects).
_REGIONS: dict[str, tuple[Rect, Rect, Rect]] = {
    "left_of": ((2, 30, 46, 70), (53, 30, 97, 70), (2, 76, 97, 97)),
    "right_of": ((53, 30, 97, 70), (2, 30, 46, 70), (2, 76, 97, 97)),
    "above": ((30, 2, 70, 46), (30, 53, 70, 97), (76, 2, 97, 97)),
    "below": ((30, 53, 70, 97), (30, 2, 70, 46), (76, 2, 97, 97)),
    "next_to": ((16, 35, 48, 65), (51, 35, 83, 65), (2, 76, 97, 97)),
    "near": ((16, 35, 48, 65), (51, 35, 83, 65), (2, 76, 97, 97)),
    "in_front_of": ((25, 40, 75, 95), (20, 5, 80, 60), (84, 2, 97, 97)),
    "behind": ((20, 5, 80, 60), (25, 40, 75, 95), (84, 2, 97, 97)),
    "hidden_by": ((30, 20, 60, 50), (10, 2, 90, 80), (2, 84, 97, 97)),
    "scale": ((2, 20, 46, 70), (53, 20, 97, 70), (2, 76, 97, 97)),
}
_NO_RELATION: Rect = (2, 2, 97, 97)


def _cells(region: Rect, n: int) -> list[Rect]:
    x1, y1, x2, y2 = region
    if n <= 0:
        return []
    horizontal = (x2 - x1) >= (y2 - y1)
    span = ((x2 - x1) if horizontal else (y2 - y1)) / n
    cells = []
    for i in range(n):
        a = (x1 if horizontal else y1) + i * span
        cells.append((a + 1, y1 + 1, a + span - 1, y2 - 1) if horizontal else (x1 + 1, a + 1, x2 - 1, a + span - 1))
    return cells


def _shrink(r: Rect, factor: float) -> Rect:
    cx, cy, w, h = (r[0] + r[2]) / 2, (r[1] + r[3]) / 2, (r[2] - r[0]) * factor, (r[3] - r[1]) * factor
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _counts(task: LayoutTask) -> dict[str, tuple[str, int]]:
    """canonical name -> (phrase to write, number of boxes)."""
    out: dict[str, tuple[str, int]] = {}
    fixed: set[str] = set()
    for o in task.objects:
        n = 1 if o.count is None else {"==": o.count, ">": o.count + 1, ">=": max(o.count, 1)}[o.op]
        key = canonical(o.name)
        phrase = f"{o.color} {o.name}" if o.color else o.name
        if key not in out or n > out[key][1]:
            out[key] = (phrase, n)
        if o.count is not None and o.op == "==":
            fixed.add(key)
    for r in (*task.relations, *task.scales, *task.comparisons):
        for name in (r.subject, r.object):
            out.setdefault(canonical(name), (name, 1))
    for c in task.comparisons:
        s, o = canonical(c.subject), canonical(c.object)
        (ps, ns), (po, no) = out[s], out[o]
        if c.relation == "equal":
            out[o if s in fixed else s] = (po, ns) if s in fixed else (ps, no)
        elif c.relation == "more":
            out[s if s not in fixed else o] = (ps, no + 1) if s not in fixed else (po, max(1, ns - 1))
        else:
            out[o if o not in fixed else s] = (po, ns + 1) if o not in fixed else (ps, max(1, no - 1))
    for e in task.excludes:
        key = canonical(e.name)
        if key in out and out[key][1] >= e.count_at_least:
            out[key] = (out[key][0], e.count_at_least - 1)
    return out


def reference_layout(task: LayoutTask) -> list[Box]:
    """Boxes meant to meet every requirement of `task` that a layout can show (check with the scorer)."""
    counts = _counts(task)
    first = (task.relations or task.scales or (None,))[0]
    placed: dict[str, Rect] = {}
    if first is not None:
        kind = first.relation if first in task.relations else "scale"
        subj_region, obj_region, rest = _REGIONS[kind]
        placed[canonical(first.subject)] = subj_region
        placed.setdefault(canonical(first.object), obj_region)
    else:
        rest = _NO_RELATION
    others = [k for k in counts if k not in placed and counts[k][1] > 0]
    strips = _cells(rest, len(others)) if others else []
    placed.update(zip(others, strips))
    boxes: dict[str, list[Rect]] = {k: _cells(placed[k], counts[k][1]) for k in counts if k in placed}
    if first is not None and canonical(first.subject) == canonical(first.object):  # "a desk hidden by a desk"
        key = canonical(first.subject)
        boxes[key] = _cells(_REGIONS[kind][0], 1) + _cells(_REGIONS[kind][1], counts[key][1] - 1)
    if first is not None and first in task.scales:
        s, o = canonical(first.subject), canonical(first.object)
        if first.relation == "same":
            boxes[s] = [_shrink((c[0], c[1], c[0] + 30, c[1] + 30), 1.0) for c in boxes[s]]
            boxes[o] = [_shrink((c[0], c[1], c[0] + 30, c[1] + 30), 1.0) for c in boxes[o]]
        else:
            small = o if first.relation == "bigger" else s
            boxes[small] = [_shrink(c, 0.4) for c in boxes[small]]
    return [Box(counts[k][0], *(float(round(v)) for v in r)) for k, rects in boxes.items() for r in rects]
