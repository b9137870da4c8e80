"""Reading VPGen's two text formats, leniently, and writing them back.

Step 1 (objects and counts): `phrase (count), phrase (count)`, e.g. `Two skiers (2), a ski lift (1)`.
Step 2 (boxes): `phrase [(x1, y1, x2, y2), ...] phrase [...]`, integers 0-99, top-left origin,
e.g. `dog [(10, 40, 45, 90), (55, 42, 90, 88)] frisbee [(40, 5, 55, 20)]`.

Models do not write either exactly, so the readers accept what they really produce and record
what they had to assume in `notes` (shown to the agent): extra spaces and newlines, case, a
missing `]` or `)`, boxes in `[x1, y1, x2, y2]` brackets or space-separated, corners in the wrong
order (swapped), coordinates in [0, 1] (scaled by 99) or above 99 (clipped), a missing count (read
as 1) or a count word ("two dogs"). Nothing here raises on agent text: what cannot be read at all
goes to `errors`, and the scorer turns it into feedback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rerest_envs.layout.names import NUMBER_WORDS

#: The largest coordinate: boxes live on a 0..GRID integer grid (VPGen's 100 bins, `round(v * 99)`).
GRID = 99

#: How the agent should write each step; shared by the feedback and the harness's default prompt.
OBJECTS_FORMAT = "Write the objects and their counts as `phrase (count), phrase (count)`, e.g. `dog (2), frisbee (1)`."
LAYOUT_FORMAT = ("Write each object followed by its boxes as `phrase [(x1, y1, x2, y2), ...]`, with integer coordinates 0-99 "
                 "(top-left origin; x1 < x2, y1 < y2), e.g. `dog [(10, 40, 45, 90), (55, 42, 90, 88)] frisbee [(40, 5, 55, 20)]`.")

_NUM = r"(-?\d+(?:\.\d+)?)"
_SEP = r"(?:\s*[,;]\s*|\s+)"
#: One box: four numbers in () or [], closing bracket optional.
_BOX = re.compile(rf"[(\[]\s*{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}\s*[)\]]?")
#: Something that looks like a box but is not four numbers: "(1, 2, 3)", "(a, b, c, d)".
_BAD_BOX = re.compile(r"\(\s*[-\d.,\s]*\)?")
_OBJ_ITEM = re.compile(r"^(.*?)\s*[(\[]\s*(\d+)\s*[)\]]?\s*\.?$")
_LEAD_COUNT = re.compile(r"^(\d+|" + "|".join(NUMBER_WORDS) + r")\s+(.+)$", re.IGNORECASE)
_PHRASE_JUNK = " \t\r\n,;:.[]()-*\"'`"
_AND = re.compile(r"^(?:and|&)\s+", re.IGNORECASE)
_BRACKETS = re.compile(r"[\[\]]")


@dataclass(frozen=True)
class Box:
    """One box of a layout: the phrase it was written under and its corners on the 0-99 grid."""

    phrase: str
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def coords(self) -> str:
        """`(x1, y1, x2, y2)` as VPGen writes it (integers where the values are whole)."""
        return "(" + ", ".join(_fmt(v) for v in (self.x1, self.y1, self.x2, self.y2)) + ")"


@dataclass
class ParsedLayout:
    """What was read from a step-2 answer: the boxes, what was assumed, what could not be read."""

    boxes: list[Box] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedObjects:
    """What was read from a step-1 answer: (phrase, count) items, assumptions, failures."""

    items: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def _clean_phrase(text: str) -> str:
    text = " ".join(text.split()).strip(_PHRASE_JUNK)
    if text[:1] in ("a", "A", "&"):
        text = _AND.sub("", text).strip(_PHRASE_JUNK)
    return text


def parse_layout(text: str) -> ParsedLayout:
    """Read `phrase [(x1, y1, x2, y2), ...] phrase [...]` leniently (see the module docstring)."""
    out = ParsedLayout()
    matches = list(_BOX.finditer(text))
    phrase, pos = "", 0
    for m in matches:
        gap = text[pos:m.start()]
        if "(" in gap:
            for bad in _BAD_BOX.findall(gap):
                if bad.strip("() ,"):
                    out.notes.append(f"ignored `{bad.strip()}`: a box needs four numbers (x1, y1, x2, y2)")
            gap = _BAD_BOX.sub(" ", gap)
        segments = [_clean_phrase(s) for s in _BRACKETS.split(gap)]
        segments = [s for s in segments if s]
        for orphan in segments[:-1]:
            out.notes.append(f"`{orphan}` has no boxes")
        if segments:
            phrase = segments[-1]
        pos = m.end()
        if not phrase:
            out.errors.append(f"box {m.group(0).strip()} has no object name before it")
            continue
        normalised = all(0.0 <= float(v) <= 1.0 for v in m.groups()) and any("." in v for v in m.groups())
        out.boxes.append(_make_box(phrase, [float(v) for v in m.groups()], normalised, out.notes))
    tail = _clean_phrase(_BRACKETS.sub(" ", text[pos:]))
    if tail and matches:
        out.notes.append(f"`{tail[:60]}` after the last box has no boxes and was ignored")
    if not out.boxes:
        out.errors.append("no box could be read: " + LAYOUT_FORMAT)
    return out


def _make_box(phrase: str, values: list[float], normalised: bool, notes: list[str]) -> Box:
    raw = "(" + ", ".join(_fmt(v) for v in values) + ")" if normalised or not all(0.0 <= v <= GRID for v in values) \
        or values[0] > values[2] or values[1] > values[3] or values[0] == values[2] or values[1] == values[3] else ""
    if normalised:
        values = [v * GRID for v in values]
        notes.append(f"{phrase} {raw}: coordinates between 0 and 1 were read as fractions of the image and scaled to 0-99")
    clipped = [min(max(v, 0.0), float(GRID)) for v in values]
    if clipped != values and not normalised:
        notes.append(f"{phrase} {raw}: coordinates lie in 0-99, so values outside were clipped")
    x1, y1, x2, y2 = clipped
    if x1 > x2 or y1 > y2:
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        notes.append(f"{phrase} {raw}: corners given in the wrong order, read as ({_fmt(x1)}, {_fmt(y1)}, {_fmt(x2)}, {_fmt(y2)})")
    if x1 == x2 or y1 == y2:
        notes.append(f"{phrase} {raw}: the box has zero area")
    return Box(phrase, x1, y1, x2, y2)


def parse_objects(text: str) -> ParsedObjects:
    """Read `phrase (count), phrase (count)` leniently; "two dogs" or a bare "dog" are accepted too."""
    out = ParsedObjects()
    for raw in re.split(r"[,;\n]|\s+and\s+", text):
        item = raw.strip(" \t\r.")
        if not item:
            continue
        m = _OBJ_ITEM.match(item)
        if m and _clean_phrase(m.group(1)):
            out.items.append((_clean_phrase(m.group(1)), int(m.group(2))))
            continue
        m = _LEAD_COUNT.match(item)
        if m and _clean_phrase(m.group(2)):
            word = m.group(1).lower()
            count = int(word) if word.isdigit() else NUMBER_WORDS[word]
            out.items.append((_clean_phrase(m.group(2)), count))
            out.notes.append(f"`{item}` has no `(count)`; read as {count}")
            continue
        phrase = _clean_phrase(item)
        if phrase and len(phrase.split()) <= 4 and re.fullmatch(r"[\w\s'-]+", phrase):
            out.items.append((phrase, 1))
            out.notes.append(f"`{phrase}` has no `(count)`; read as 1")
        elif phrase:
            out.errors.append(f"could not read `{phrase[:60]}` as `phrase (count)`")
    if not out.items:
        out.errors.append("no object could be read: " + OBJECTS_FORMAT)
    return out


def format_objects(items: list[tuple[str, int]]) -> str:
    """VPGen step-1 text: `dog (2), frisbee (1)`."""
    return ", ".join(f"{phrase} ({count})" for phrase, count in items)


def format_layout(boxes: list[Box]) -> str:
    """VPGen step-2 text, boxes grouped under their phrase in first-appearance order."""
    groups: dict[str, list[Box]] = {}
    for box in boxes:
        groups.setdefault(box.phrase, []).append(box)
    return " ".join(f"{phrase} [{', '.join(b.coords() for b in group)}]" for phrase, group in groups.items())
