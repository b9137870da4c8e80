"""`SceneGraphPerception`: ImagePatch answers read from the image's GQA scene graph (exact, CPU).

An object is "in" a patch when at least half of its box lies inside the patch. `find` returns the
matching objects (largest first, ids as refs); `verify_property` looks in their attributes (and
words of their names); `best_text_match` scores each option against the patch's object, the image's
location and weather; `simple_query` answers the question kinds a graph can answer (see
`sg_questions.py`) and says plainly when it cannot. GQA boxes are top-origin `x, y, w, h`; they are
turned into ViperGPT's bottom-origin `left, lower, right, upper` once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rerest_envs.gqa.perception.base import Box, Detection, Perception, PerceptionUnavailable
from rerest_envs.gqa.perception.names import name_matches, norm, verb_forms, words

#: Share of an object's box that must lie inside a patch for the object to count as in it.
INSIDE = 0.5
#: Longest noun phrase read, in words (articles not counted); GQA's are at most ~10. `find`,
#: `exists` and `verify_property` refuse longer ones; inside a question they name nothing.
MAX_PHRASE_WORDS = 16
#: Phrases remembered per perception (results depend only on box, ref and words).
_MEMO_SIZE = 4096


@dataclass(frozen=True)
class SGObject:
    """A scene-graph object with its box in ViperGPT coordinates."""

    ref: str
    name: str
    box: Box
    attributes: tuple[str, ...]
    relations: tuple[tuple[str, str], ...]  # (relation name, target ref)

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    def has(self, prop: str) -> bool:
        """Whether `prop` is one of the attributes (or every word of it is in the name/attributes)."""
        want = " ".join(words(prop))
        attrs = {a.lower() for a in self.attributes}
        if want in attrs:
            return True
        have = attrs | set(words(self.name)) | {norm(self.name)}
        ws = [w for w in words(prop) if w not in ("made", "of", "is", "are", "looking", "look")]
        return bool(ws) and all(w in have for w in ws)


def _overlap(inner: Box, outer: Box) -> float:
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return max(w, 0) * max(h, 0) / area if area > 0 else 0.0


def _iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


#: Words a relative clause adds ("the zebra that is on the grass").
_CLAUSE_WORDS = frozenset({"that", "which", "who", "is", "are", "being"})
#: Spatial relations read from boxes (bottom-origin y), keyed as `words()` writes them.
SPATIAL: dict[str, Callable[[Box, Box], bool]] = {
    "to left of": lambda a, b: a[0] + a[2] < b[0] + b[2], "left of": lambda a, b: a[0] + a[2] < b[0] + b[2],
    "to right of": lambda a, b: a[0] + a[2] > b[0] + b[2], "right of": lambda a, b: a[0] + a[2] > b[0] + b[2],
    "above": lambda a, b: a[1] + a[3] > b[1] + b[3], "below": lambda a, b: a[1] + a[3] < b[1] + b[3],
}
#: "on the left", "in the middle", ...: what to minimise to pick the head furthest that way.
_EXTREMES: dict[str, Callable[[Box, int, int], float]] = {
    "left": lambda b, w, h: b[0] + b[2], "right": lambda b, w, h: -(b[0] + b[2]),
    "top": lambda b, w, h: -(b[1] + b[3]), "bottom": lambda b, w, h: b[1] + b[3],
    "middle": lambda b, w, h: abs((b[0] + b[2]) - w) + abs((b[1] + b[3]) - h),
    "center": lambda b, w, h: abs((b[0] + b[2]) - w) + abs((b[1] + b[3]) - h),
}


class SceneGraphPerception(Perception):
    """Perception from one image's GQA scene graph (`{"width", "height", "objects", "location"?, ...}`)."""

    name = "scene_graph"

    def __init__(self, graph: dict[str, Any]) -> None:
        super().__init__(graph["width"], graph["height"])
        self.location: str | None = graph.get("location")
        weather = graph.get("weather")
        self.weather: str | None = weather.get("name") if isinstance(weather, dict) else weather
        self.objects: dict[str, SGObject] = {}
        for ref, o in graph.get("objects", {}).items():
            x, y, w, h = (float(o[k]) for k in ("x", "y", "w", "h"))
            box = (x, self.height - (y + h), x + w, self.height - y)
            rels = tuple((r["name"], str(r["object"])) for r in o.get("relations", ()))
            self.objects[str(ref)] = SGObject(str(ref), o["name"], box, tuple(o.get("attributes", ())), rels)
        self._memo: dict[tuple[Box, str | None, tuple[str, ...]], tuple[SGObject, ...]] = {}

    # -- which objects a patch is about -----------------------------------------------------------------
    def inside(self, box: Box) -> list[SGObject]:
        """Objects with at least `INSIDE` of their box in `box`, largest first (ties: graph order)."""
        found = [o for o in self.objects.values() if _overlap(o.box, box) >= INSIDE]
        return sorted(found, key=lambda o: -o.area)

    def focus(self, box: Box, ref: str | None) -> SGObject | None:
        """The object a patch shows: the one it was found as, else the best fit for a crop; None for the whole image."""
        if ref is not None and ref in self.objects:
            return self.objects[ref]
        if box[0] <= 0 and box[1] <= 0 and box[2] >= self.width and box[3] >= self.height:
            return None
        scored = sorted(self.objects.values(), key=lambda o: -_iou(o.box, box))
        return scored[0] if scored and _iou(scored[0].box, box) > 0.3 else None

    def resolve(self, box: Box, ref: str | None, phrase: str) -> list[SGObject]:
        """Objects in the patch a noun phrase names: "the black bag" (a bag with attribute black), and
        phrases with a qualifier, "the man to the left of the painting", "the zebra that is on the
        grass", "the person on the left".

        Polynomial in the phrase's length: each (box, ref, words) is resolved once and remembered
        (the qualifier split tries every cut, and without the memo re-resolved the same tails
        exponentially often: 22 words took 48 s), and phrases over `MAX_PHRASE_WORDS` name nothing.
        """
        ws = words(phrase)
        if len(ws) > MAX_PHRASE_WORDS:
            return []
        key = (box, ref, tuple(ws))
        known = self._memo.get(key)
        if known is not None:
            return list(known)
        self.check_deadline()
        hits = self._resolve_words(box, ref, ws)
        if not hits and len(ws) >= 3:
            hits = self._resolve_qualified(box, ref, ws)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = tuple(hits)
        return list(hits)

    def _resolve_words(self, box: Box, ref: str | None, ws: list[str]) -> list[SGObject]:
        focus = self.focus(box, ref)
        if not ws or ws in (["it"], ["he"], ["she"], ["they"], ["him"], ["her"], ["them"]):
            return [focus] if focus else self.inside(box)[:1]
        candidates = self.inside(box)
        if focus is not None and focus not in candidates:
            candidates.insert(0, focus)
        for start in range(len(ws)):
            noun, attrs = " ".join(ws[start:]), ws[:start]
            hits = [o for o in candidates if name_matches(noun, o.name) and all(o.has(a) for a in attrs)]
            if hits:
                if focus is not None and focus in hits:  # the patch's own object first
                    hits.remove(focus)
                    hits.insert(0, focus)
                return hits
        return []

    def _resolve_qualified(self, box: Box, ref: str | None, ws: list[str]) -> list[SGObject]:
        whole = (0.0, 0.0, float(self.width), float(self.height))
        for i in range(1, len(ws) - 1):
            heads = self._resolve_words(box, ref, ws[:i])
            if not heads:
                continue
            rest = [w for w in ws[i:] if w not in _CLAUSE_WORDS]
            picked = self._by_position(heads, rest)
            if picked is not None:
                return picked
            if all(any(h.has(w) for h in heads) for w in rest):  # "the elephants that are standing"
                return [h for h in heads if all(h.has(w) for w in rest)]
            for j in range(1, len(rest)):
                relation, targets = " ".join(rest[:j]), self.resolve(whole, None, " ".join(rest[j:]))
                if targets:
                    kept = [h for h in heads if self.related(h, relation, targets)]
                    if kept or relation in self._relation_names():
                        return kept
        return []

    def _by_position(self, heads: list[SGObject], rest: list[str]) -> list[SGObject] | None:
        """"on the left (side)", "in the middle", "at the top": the head furthest that way."""
        rest = rest[:-1] if rest[-1:] in (["side"], ["part"]) else rest
        if len(rest) > 2 or not rest or rest[-1] not in _EXTREMES or (len(rest) == 2 and rest[0] not in ("on", "in", "at")):
            return None
        key = _EXTREMES[rest[-1]]
        return [min(heads, key=lambda o: key(o.box, self.width, self.height))]

    def _relation_names(self) -> set[str]:
        names = {" ".join(words(r)) for o in self.objects.values() for r, _ in o.relations}
        return {form for name in names for form in verb_forms(name)} | set(SPATIAL)

    def related(self, subject: SGObject, relation: str, targets: list[SGObject]) -> bool:
        """Whether the graph relates `subject` to a target by `relation` (any verb form), or boxes place it so."""
        refs = {t.ref for t in targets}
        if any(t in refs and relation in verb_forms(" ".join(words(r))) for r, t in subject.relations):
            return True
        check = SPATIAL.get(relation)
        return check is not None and any(t is not subject and check(subject.box, t.box) for t in targets)

    # -- the API ---------------------------------------------------------------------------------------
    @staticmethod
    def _phrase(name: str) -> str:
        if len(words(name)) > MAX_PHRASE_WORDS:
            raise PerceptionUnavailable(f"the scene graph reads object names of up to {MAX_PHRASE_WORDS} words; "
                                        f"{str(name)[:60]!r}... is longer")
        return name

    def find(self, box: Box, ref: str | None, name: str) -> list[Detection]:
        hits = [o for o in self.resolve(box, None, self._phrase(name)) if _overlap(o.box, box) >= INSIDE]
        return [Detection(o.box, o.ref, o.name) for o in hits]

    def verify_property(self, box: Box, ref: str | None, name: str, prop: str) -> bool:
        # "outdoors" on an image whose location is "outdoors": both sides normalised alike
        # (norm() singularises, so comparing norm(prop) with the raw location missed it).
        if norm(prop) and norm(prop) in {norm(v) for v in (self.location, self.weather) if v}:
            return True
        return any(o.has(prop) for o in self.resolve(box, ref, self._phrase(name)))

    def text_score(self, box: Box, ref: str | None, text: str) -> float:
        focus = self.focus(box, ref)
        objects = [focus] if focus else self.inside(box)[:3]
        scene = {w for w in (self.location, self.weather) if w}
        if text.strip().lower() in scene:
            return 1.0
        best = 0.0
        for o in objects:
            if name_matches(text, o.name) or o.has(text):
                return 1.0
            ws = set(words(text))
            if ws:
                best = max(best, len(ws & ({a.lower() for a in o.attributes} | set(words(o.name)))) / len(ws) / 2)
        return best

    def best_text_match(self, box: Box, ref: str | None, options: list[str], prefix: str | None) -> str:
        scores = [self.text_score(box, ref, option) for option in options]
        return options[max(range(len(options)), key=lambda i: scores[i])]

    def simple_query(self, box: Box, ref: str | None, question: str) -> str:
        from rerest_envs.gqa.perception.sg_questions import MAX_QUESTION_WORDS, answer_question

        if len(question.split()) > MAX_QUESTION_WORDS:
            raise PerceptionUnavailable(f"the scene graph reads questions of up to {MAX_QUESTION_WORDS} words "
                                        f"(GQA's longest has 27); {question[:60]!r}... is longer")
        answer = answer_question(self, box, ref, question)
        if answer is None:
            raise PerceptionUnavailable(
                f"the scene graph cannot answer {question!r}: simple_query answers 'What is this?', colours, materials, "
                "activities ('What is the man doing?'), relations ('What is the man holding?', 'Who is wearing a hat?', "
                "'Where is the truck?'), yes/no attributes ('Is the dog sitting?') and 'Is it indoors or outdoors?'")
        return answer


__all__ = ["INSIDE", "SPATIAL", "SGObject", "SceneGraphPerception"]
