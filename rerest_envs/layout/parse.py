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

Any text is read in time linear in its length (`tests/envs/layout/test_adversarial.py` times 100 KB
against 1 MB), and the work after reading is bounded: a count above `MAX_BOXES` is an error, only
the first `MAX_BOXES` boxes are read (a note says how many more were ignored), notes quote at most
`QUOTE_CHARS` characters of the answer, and `join_notes` shows at most `MAX_NOTES` of them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from rerest_envs.layout.names import NUMBER_WORDS

#: The largest coordinate: boxes live on a 0..GRID integer grid (VPGen's 100 bins, `round(v * 99)`).
GRID = 99
#: Boxes read from one layout, and the largest count read at step 1 (a larger one could not be laid
#: out). The largest layout in the data (NSR-1K ground truth) has 8 boxes.
MAX_BOXES = 100
#: Notes shown in one observation (`join_notes`); all of them stay in `Feedback.details`.
MAX_NOTES = 20
#: The most characters of the answer a note or an error quotes.
QUOTE_CHARS = 60

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
#: The end of a step-1 item, `(count)`: the item reads as `^(.*?)\s*[(\[]\s*(\d+)\s*[)\]]?\s*\.?$`, which
#: backtracks quadratically over whitespace; this tail has one opening bracket, so it is found once.
_COUNT_TAIL = re.compile(r"[(\[]\s*(\d+)\s*(?:[)\]]\s*)?\.?$")
#: Where step-1 items may end: a comma, a semicolon, or a run of whitespace (see `_split_items`).
_ITEM_BREAK = re.compile(r"[,;]|\s+")
_SPACES = re.compile(r"\s+")
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


def _quote(text: str) -> str:
    """`text` as a note quotes it: its first QUOTE_CHARS characters."""
    return text[:QUOTE_CHARS]


def join_notes(notes: list[str], limit: int = MAX_NOTES) -> str:
    """`notes` joined with "; " for an observation: at most `limit` of them, the first ones and the
    last (which sums up: the box cap, the expected format), and how many were left out between."""
    if len(notes) <= limit:
        return "; ".join(notes)
    return "; ".join([*notes[:limit - 1], f"{len(notes) - limit} more not shown", notes[-1]])


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def _clean_phrase(text: str) -> str:
    text = " ".join(text.split()).strip(_PHRASE_JUNK)
    if text[:1] in ("a", "A", "&"):
        text = _AND.sub("", text).strip(_PHRASE_JUNK)
    return text


def parse_layout(text: str, max_boxes: int = MAX_BOXES) -> ParsedLayout:
    """Read `phrase [(x1, y1, x2, y2), ...] phrase [...]` leniently (see the module docstring).

    Args:
        text: The agent's answer.
        max_boxes: How many boxes are read; the rest are counted in a note and ignored.
    """
    out = ParsedLayout()
    found = _BOX.finditer(text)
    matches = list(itertools.islice(found, max_boxes))
    ignored = sum(1 for _ in found)
    phrase, pos = "", 0
    for m in matches:
        gap = text[pos:m.start()]
        if "(" in gap:
            for bad in _BAD_BOX.findall(gap):
                if bad.strip("() ,"):
                    out.notes.append(f"ignored `{_quote(bad.strip())}`: a box needs four numbers (x1, y1, x2, y2)")
            gap = _BAD_BOX.sub(" ", gap)
        segments = [_clean_phrase(s) for s in _BRACKETS.split(gap)]
        segments = [s for s in segments if s]
        for orphan in segments[:-1]:
            out.notes.append(f"`{_quote(orphan)}` has no boxes")
        if segments:
            phrase = segments[-1]
        pos = m.end()
        if not phrase:
            out.errors.append(f"box {_quote(m.group(0).strip())} has no object name before it")
            continue
        normalised = all(0.0 <= float(v) <= 1.0 for v in m.groups()) and any("." in v for v in m.groups())
        out.boxes.append(_make_box(phrase, [float(v) for v in m.groups()], normalised, out.notes))
    if ignored:
        out.notes.append(f"only the first {max_boxes} boxes were read: the {ignored} after them were ignored")
    tail = _clean_phrase(_BRACKETS.sub(" ", text[pos:])) if not ignored else ""
    if tail and matches:
        out.notes.append(f"`{_quote(tail)}` after the last box has no boxes and was ignored")
    if not out.boxes:
        out.errors.append("no box could be read: " + LAYOUT_FORMAT)
    return out


def _make_box(phrase: str, values: list[float], normalised: bool, notes: list[str]) -> Box:
    raw = "(" + ", ".join(_fmt(v) for v in values) + ")" if normalised or not all(0.0 <= v <= GRID for v in values) \
        or values[0] > values[2] or values[1] > values[3] or values[0] == values[2] or values[1] == values[3] else ""
    if normalised:
        values = [v * GRID for v in values]
        notes.append(f"{_quote(phrase)} {_quote(raw)}: coordinates between 0 and 1 were read as fractions of the image and scaled to 0-99")
    clipped = [min(max(v, 0.0), float(GRID)) for v in values]
    if clipped != values and not normalised:
        notes.append(f"{_quote(phrase)} {_quote(raw)}: coordinates lie in 0-99, so values outside were clipped")
    x1, y1, x2, y2 = clipped
    if x1 > x2 or y1 > y2:
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        notes.append(f"{_quote(phrase)} {_quote(raw)}: corners given in the wrong order, read as ({_fmt(x1)}, {_fmt(y1)}, {_fmt(x2)}, {_fmt(y2)})")
    if x1 == x2 or y1 == y2:
        notes.append(f"{_quote(phrase)} {_quote(raw)}: the box has zero area, so it shows no object and is not counted")
    return Box(phrase, x1, y1, x2, y2)


def _split_items(text: str) -> list[str]:
    r"""`re.split(r"[,;\n]|\s+and\s+", text)`, in time linear in `text`.

    The regex tries `\s+and\s+` from every character of a run of whitespace (quadratic). Its answer
    depends only on what follows the run, so here each run is read once: followed by `and` and
    whitespace, the run, `and` and that whitespace are one separator; a newline splits on its own
    where the regex's first branch takes it (at the start of the run, and anywhere in a run that
    is no separator).
    """
    items: list[str] = []
    start = 0
    for m in _ITEM_BREAK.finditer(text):
        p, q = m.span()
        if p < start:  # the whitespace after an `and` already split on
            continue
        if text[p] in ",;":
            items.append(text[start:p])
            start = q
            continue
        joins = text.startswith("and", q) and q + 3 < len(text) and text[q + 3].isspace()
        while p < q:
            if text[p] == "\n":
                items.append(text[start:p])
                start = p = p + 1
            elif joins:
                items.append(text[start:p])
                start = _SPACES.match(text, q + 3).end()  # type: ignore[union-attr]
                break
            else:
                p = text.find("\n", p, q)
                if p < 0:
                    break
    items.append(text[start:])
    return items


def _count_item(item: str) -> tuple[str, str] | None:
    """`item` as `phrase (digits)`: the phrase and the digits, or None (`_COUNT_TAIL`)."""
    m = _COUNT_TAIL.search(item)
    if m is None:
        return None
    phrase = item[:m.start()].rstrip()
    return None if "\n" in phrase else (phrase, m.group(1))


def _count(digits: str) -> int | None:
    """`digits` as a count, or None above MAX_BOXES (`int()` itself refuses 4,300 digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= len(str(MAX_BOXES)) and int(digits) <= MAX_BOXES else None


def parse_objects(text: str) -> ParsedObjects:
    """Read `phrase (count), phrase (count)` leniently; "two dogs" or a bare "dog" are accepted too."""
    out = ParsedObjects()
    too_many = f"as `phrase (count)`: a count is at most {MAX_BOXES}"
    for raw in _split_items(text):
        item = raw.strip(" \t\r.")
        if not item:
            continue
        read = _count_item(item)
        if read and _clean_phrase(read[0]):
            count = _count(read[1])
            if count is None:
                out.errors.append(f"could not read `{_quote(item)}` {too_many}")
            else:
                out.items.append((_clean_phrase(read[0]), count))
            continue
        m = _LEAD_COUNT.match(item)
        if m and _clean_phrase(m.group(2)):
            word = m.group(1).lower()
            count = _count(word) if word.isdecimal() else NUMBER_WORDS.get(word)  # "ſix" matches "six" but is no key
            if count is not None:
                out.items.append((_clean_phrase(m.group(2)), count))
                out.notes.append(f"`{_quote(item)}` has no `(count)`; read as {count}")
                continue
            if word.isdecimal():
                out.errors.append(f"could not read `{_quote(item)}` {too_many}")
                continue
        phrase = _clean_phrase(item)
        if phrase and len(phrase.split()) <= 4 and re.fullmatch(r"[\w\s'-]+", phrase):
            out.items.append((phrase, 1))
            out.notes.append(f"`{_quote(phrase)}` has no `(count)`; read as 1")
        elif phrase:
            out.errors.append(f"could not read `{_quote(phrase)}` as `phrase (count)`")
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
