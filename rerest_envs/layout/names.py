"""Object names: the COCO table, synonyms, plurals, and when a layout phrase counts as a required object.

A prompt says "2 persons", a model writes `people [(...), (...)]` or `Two men [...]`: the checks
must see two persons. Every name goes through `canonical()` (lower case, articles and numbers
dropped, the head noun singularised, the longest known alias mapped to its COCO class), and
`phrase_matches(required, phrase)` accepts a phrase whose canonical name is the required one, ends
with it ("christmas light" for "light"), or is a kind of it ("man" for "person"; one way only: a
`person` box does not satisfy "a man"). The tables are ours, written from the COCO class list.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: The 80 COCO detection classes, as GenEval/VPEval/NSR-1K write them.
COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
    "scissors", "teddy bear", "hair drier", "toothbrush",
)

#: The 21 PaintSkills object classes, as PaintSkills prompts write them ("human", "bike", "van").
PAINTSKILLS_CLASSES: tuple[str, ...] = (
    "human", "airplane", "bike", "bus", "dog", "boat", "van", "train", "fire hydrant", "stop sign", "backpack",
    "chair", "dining table", "skateboard", "bench", "suitcase", "traffic light", "bird", "bear", "bed",
    "potted plant",
)

#: Other words for the same COCO class (both directions: "sofa" and "couch" are one object).
SYNONYMS: dict[str, str] = {
    "human": "person", "people": "person", "persons": "person", "pedestrian": "person",
    "bike": "bicycle", "motorbike": "motorcycle", "motor bike": "motorcycle", "aeroplane": "airplane",
    "plane": "airplane", "airliner": "airplane", "jet": "airplane", "hydrant": "fire hydrant",
    "traffic signal": "traffic light", "stoplight": "traffic light", "sofa": "couch", "table": "dining table",
    "television": "tv", "tv set": "tv", "tv monitor": "tv", "television set": "tv", "cellphone": "cell phone",
    "mobile phone": "cell phone", "phone": "cell phone", "smartphone": "cell phone", "hair dryer": "hair drier",
    "doughnut": "donut", "houseplant": "potted plant", "plant": "potted plant", "potted plants": "potted plant",
    "ball": "sports ball", "racket": "tennis racket", "racquet": "tennis racket", "tennis racquet": "tennis racket",
    "teddy": "teddy bear", "purse": "handbag", "fridge": "refrigerator", "laptop computer": "laptop",
    "computer mouse": "mouse", "remote control": "remote", "tv remote": "remote", "computer keyboard": "keyboard",
    "ski": "skis", "wineglass": "wine glass", "hotdog": "hot dog", "stop-sign": "stop sign",
}

#: A kind of a class: a phrase on the left counts as the class on the right, never the other way round.
HYPERNYMS: dict[str, str] = {
    **{w: "person" for w in ("man", "woman", "boy", "girl", "child", "kid", "baby", "skier", "surfer", "player",
                             "lady", "guy", "gentleman", "adult", "toddler", "rider", "snowboarder", "skateboarder")},
    "puppy": "dog", "kitten": "cat", "calf": "cow", "cattle": "cow", "lamb": "sheep", "pony": "horse", "van": "car",
    "soccer ball": "sports ball", "basketball": "sports ball", "football": "sports ball", "tennis ball": "sports ball",
    "baseball": "sports ball", "volleyball": "sports ball", "armchair": "chair", "desk": "dining table",
}

#: Plurals that the rules below get wrong (keys plural, values singular), incl. VPEval's "sheeps", "knifes".
IRREGULAR_SINGULAR: dict[str, str] = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse", "geese": "goose",
    "feet": "foot", "teeth": "tooth", "knives": "knife", "wives": "wife", "leaves": "leaf", "shelves": "shelf",
    "wolves": "wolf", "loaves": "loaf", "halves": "half", "calves": "calf", "scissorses": "scissors",
    "skises": "skis", "sheeps": "sheep", "buses": "bus", "tomatoes": "tomato", "potatoes": "potato",
    "heroes": "hero", "ties": "tie", "pies": "pie", "dies": "die", "cookies": "cookie", "movies": "movie",
    "oxen": "ox", "fish": "fish", "deer": "deer", "species": "species", "series": "series",
}
#: Words whose singular and plural are the same.
INVARIANT: frozenset[str] = frozenset({"sheep", "skis", "scissors", "broccoli", "deer", "fish", "tennis", "species",
                                       "series", "jeans", "pants", "shorts", "cattle"})
IRREGULAR_PLURAL: dict[str, str] = {"person": "people", "mouse": "mice", "knife": "knives", "man": "men",
                                    "woman": "women", "child": "children", "goose": "geese", "bus": "buses"}

#: Count words a phrase may start with, and what they mean ("a few" is a vague count, read as None).
NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "pair": 2, "couple": 2,
}
NUMBER_NAMES: dict[int, str] = {n: w for w, n in NUMBER_WORDS.items() if w not in ("a", "an", "single", "pair", "couple")}
#: Words dropped from the front of a phrase before it is looked up.
_LEADING = frozenset({"a", "an", "the", "some", "several", "many", "few", "of", "one", "two", "three", "four", "five",
                      "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "single", "pair", "couple", "this",
                      "that", "these", "those", "another", "other", "multiple", "group", "bunch", "number"})

_ALIASES: dict[str, str] = {**{c: c for c in COCO_CLASSES}, **SYNONYMS}
_KNOWN: frozenset[str] = frozenset(_ALIASES.values()) | frozenset(HYPERNYMS)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def plural(name: str) -> str:
    """English plural of a (possibly multi-word) name: only the last word changes ("wine glasses")."""
    head, _, last = name.rpartition(" ")
    if last in IRREGULAR_PLURAL:
        out = IRREGULAR_PLURAL[last]
    elif last in INVARIANT:
        out = last
    elif last.endswith(("s", "x", "ch", "sh", "z")):
        out = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        out = last[:-1] + "ies"
    else:
        out = last + "s"
    return f"{head} {out}" if head else out


def singular(word: str) -> str:
    """Singular of one lower-case word (rules plus an irregular table); unknown words pass through."""
    if word in IRREGULAR_SINGULAR:
        return IRREGULAR_SINGULAR[word]
    if word in INVARIANT or len(word) <= 2:
        return word
    if word.endswith("sses") or word.endswith(("ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=8192)
def canonical(name: str) -> str:
    """The key a name is compared by: COCO class where known, else the singular head phrase.

    Examples: "Two Persons" -> "person", "people" -> "person", "a red car" -> "car",
    "fireHydrant" -> "fire hydrant", "hot dogs" -> "hot dog", "christmas lights" -> "christmas light".
    """
    words = _NON_WORD.sub(" ", _CAMEL.sub(" ", name).lower()).split()
    while len(words) > 1 and (words[0] in _LEADING or words[0].isdigit()):
        words = words[1:]
    if not words:
        return ""
    whole = " ".join(words)
    if whole in _ALIASES:  # "people", "persons", "skis": known as written
        return _ALIASES[whole]
    words[-1] = singular(words[-1])
    for start in range(len(words)):  # longest known suffix wins: "teddy bear" before "bear"
        tail = " ".join(words[start:])
        if tail in _ALIASES:
            return _ALIASES[tail]
        if tail in HYPERNYMS:
            return tail
    return " ".join(words)


def phrase_matches(required: str, phrase: str) -> bool:
    """Whether a layout phrase shows the required object (both given as written; compared canonically)."""
    want, have = canonical(required), canonical(phrase)
    if not want or not have:
        return False
    if have == want or HYPERNYMS.get(have) == want:
        return True
    # "christmas light" shows a "light", but "teddy bear" is no "bear" and "hot dog" no "dog": known names stand alone.
    return have not in _KNOWN and have.endswith(" " + want)


def with_count(name: str, count: int) -> str:
    """"1 dog", "3 dogs": a count and the name in the matching number."""
    return f"{count} {name if count == 1 else plural(name)}"
