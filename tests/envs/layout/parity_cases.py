"""Generated layouts for the parity tests: ground truth, swapped, shifted, random and mutant cases.

A case is a list of `Drawn` boxes: the phrase written in the layout, the corners on the 0-99 grid,
and `depicts`, the required object the box stands for (None for a distractor). The parity tests
hand the same case to the env (as VPGen text) and to the transcribed reference rule (as that
evaluator's input), and compare verdicts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from rerest_envs.layout.names import COCO_CLASSES, plural

Corners = tuple[int, int, int, int]


@dataclass(frozen=True)
class Drawn:
    phrase: str
    box: Corners
    depicts: str | None


def layout_text(case: Sequence[Drawn]) -> str:
    """The case as the agent would write it, one `phrase [(x1, y1, x2, y2)]` a box, in case order."""
    return " ".join(f"{d.phrase} [({d.box[0]}, {d.box[1]}, {d.box[2]}, {d.box[3]})]" for d in case)


def clamp_box(x1: float, y1: float, x2: float, y2: float) -> Corners:
    """Rounded into the grid, corners in order (the env would swap them and say so; the case should not need it)."""
    a, b, c, d = (min(99, max(0, int(round(v)))) for v in (x1, y1, x2, y2))
    return (min(a, c), min(b, d), max(a, c), max(b, d))


def random_box(rng: random.Random) -> Corners:
    x1, y1 = rng.randint(0, 90), rng.randint(0, 90)
    return clamp_box(x1, y1, x1 + rng.randint(1, 60), y1 + rng.randint(1, 60))


def _around(cx: float, cy: float, w: float, h: float) -> Corners:
    return clamp_box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _centre(box: Corners) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _distractor(rng: random.Random, avoid: Sequence[str]) -> str:
    return rng.choice([c for c in COCO_CLASSES if c not in avoid and not any(c in a or a in c for a in avoid)])


def variants(rng: random.Random, subject: str, obj: str, base: Sequence[Drawn], *, typos: bool) -> Iterator[tuple[str, list[Drawn]]]:
    """(kind, case) pairs built from `base` (a layout in which `subject` and `obj` boxes exist).

    `typos=True` adds misspelt and hyphenated names (LayoutGPT matches names by difflib; a detector's
    reading of a misspelt phrase is unknowable, so the VPEval test leaves them out).
    """
    subj_boxes = [d for d in base if d.depicts == subject]
    obj_boxes = [d for d in base if d.depicts == obj and d.depicts != subject]
    s0 = subj_boxes[0]
    o0 = obj_boxes[0] if obj_boxes else [d for d in base if d.depicts == obj][-1]
    yield "ground truth", list(base)
    yield "swapped", [replace(d, box=o0.box) if d is s0 else replace(d, box=s0.box) if d is o0 else d for d in base]
    dx, dy = rng.randint(-45, 45), rng.randint(-45, 45)
    yield "shifted", [replace(d, box=clamp_box(d.box[0] + dx, d.box[1] + dy, d.box[2] + dx, d.box[3] + dy)) if d.depicts == subject else d
                      for d in base]
    for _ in range(3):
        case = [Drawn(subject, random_box(rng), subject) for _ in range(rng.randint(1, 3))]
        case += [Drawn(obj, random_box(rng), obj) for _ in range(rng.randint(1, 3))]
        for _ in range(rng.randint(0, 2)):
            name = _distractor(rng, (subject, obj))
            case.append(Drawn(name, random_box(rng), None))
        rng.shuffle(case)
        yield "random", case
    # -- mutants ------------------------------------------------------------------------------------
    sx, sy = _centre(s0.box)
    yield "identical boxes", [Drawn(subject, s0.box, subject), Drawn(obj, s0.box, obj)]
    yield "same centre", [Drawn(subject, _around(sx, sy, 10, 10), subject), Drawn(obj, _around(sx, sy, 30, 20), obj)]
    for angle_dx, angle_dy in ((10, 10), (10, -10), (-10, 10), (-10, -10), (10, 9), (9, 10), (10, 11), (0, 12), (12, 0), (1, 0), (0, 1)):
        cx, cy = min(max(sx, 15), 84), min(max(sy, 15), 84)
        yield f"centres {angle_dx},{angle_dy} apart", [Drawn(subject, _around(cx + angle_dx / 2, cy + angle_dy / 2, 8, 8), subject),
                                                        Drawn(obj, _around(cx - angle_dx / 2, cy - angle_dy / 2, 8, 8), obj)]
    yield "side by side, far apart", [Drawn(subject, (2, 40, 12, 50), subject), Drawn(obj, (88, 42, 98, 52), obj)]
    yield "side by side, far apart (mirrored)", [Drawn(subject, (88, 40, 98, 50), subject), Drawn(obj, (2, 42, 12, 52), obj)]
    yield "stacked", [Drawn(subject, (30, 10, 60, 40), subject), Drawn(obj, (30, 41, 60, 71), obj)]
    flat = replace(s0, box=(s0.box[0], s0.box[1], s0.box[0], s0.box[3]))
    yield "zero-width subject", [flat if d is s0 else d for d in base]
    yield "zero-height object", [replace(d, box=(d.box[0], d.box[1], d.box[2], d.box[1])) if d is o0 else d for d in base]
    yield "extra flat subject box", [*base, Drawn(subject, (50, 50, 50, 50), subject)]
    yield "all-zero subject box only", [Drawn(subject, (0, 0, 0, 0), subject), o0]
    yield "no object", [d for d in base if d.depicts != obj or d.depicts == subject]
    yield "plural subject", [replace(d, phrase=plural(subject)) if d.depicts == subject else d for d in base]
    yield "capitalised", [replace(d, phrase=d.phrase.capitalize()) for d in base]
    yield "article", [replace(d, phrase=f"a {d.phrase}") if d.depicts == obj else d for d in base]
    extra = _distractor(rng, (subject, obj))
    yield "distractor", [*base, Drawn(extra, random_box(rng), None), Drawn(extra, random_box(rng), None)]
    if typos:
        cut = rng.randrange(len(subject))
        yield "misspelt subject", [replace(d, phrase=subject[:cut] + subject[cut + 1:] or subject) if d.depicts == subject else d for d in base]
        yield "hyphenated", [replace(d, phrase=d.phrase.replace(" ", "-")) for d in base]
        yield "both misspelt", [replace(d, phrase=d.phrase[:-1] + "x") if d.depicts is not None else d for d in base]
