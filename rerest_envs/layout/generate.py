"""Template prompts in the PaintSkills style: counts, spatial relations and scale, with no data files.

VPEval's spatial and scale prompt files are not public in a usable form and no real scale set
exists (see `../shared/research/t2i_vpgen_vpeval.md`), so these are generated from the PaintSkills
templates ("a photo of 3 dogs"; "a photo of bench and suitcase; bench is left to suitcase") over
the 80 COCO classes (or PaintSkills' 21), with counts 1-4.

Train and test are disjoint by construction: each prompt's *object set* (the class pair of a
spatial/scale prompt, or the (class, count) combinations of a count prompt) is hashed (crc32, not
Python's salted `hash`) into test (1 in 5) or train, so no test prompt shares its objects with a
train prompt, whatever the seeds and sizes. Within a split, prompts are drawn with
`random.Random(f"{seed}/{split}/{kind}")` (string seeds are hashed
with sha512, the same on every machine; ten times faster than numpy for these scalar draws) and deduplicated by requirement ("A left of B" and
"B right of A" are the same prompt), so a (kind, split, seed, n) always gives the same list.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

from rerest_envs.layout.names import COCO_CLASSES, NUMBER_NAMES, PAINTSKILLS_CLASSES, plural
from rerest_envs.layout.task import LayoutTask, ObjectReq, RelationReq

KINDS = ("count", "spatial", "scale")
SPLITS = ("train", "test")
CLASS_LISTS: dict[str, tuple[str, ...]] = {"coco": COCO_CLASSES, "paintskills": PAINTSKILLS_CLASSES}
#: One in TEST_MODULUS object sets goes to the test split.
TEST_MODULUS = 5

_INVERSE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above",
            "bigger": "smaller", "smaller": "bigger", "same": "same"}
_SPATIAL_WORDS = {"left_of": ("left to", "to the left of"), "right_of": ("right to", "to the right of"),
                  "above": ("above", "above"), "below": ("below", "below")}
_SCALE_WORDS = {"bigger": "bigger than", "smaller": "smaller than", "same": "the same size as"}
_PAIRED = frozenset({"skis", "scissors"})


def split_of(object_key: str) -> str:
    """`train` or `test` for an object set key (stable across runs and machines)."""
    return "test" if zlib.crc32(object_key.encode()) % TEST_MODULUS == 0 else "train"


def _a(name: str) -> str:
    if name in _PAIRED:
        return f"a pair of {name}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _count_phrase(n: int, name: str, words: bool) -> str:
    if n == 1:
        return _a(name) if words else f"1 {name}"
    return f"{NUMBER_NAMES[n] if words else n} {plural(name)}"


def _draw_count(rng: random.Random, classes: Sequence[str]) -> tuple[str, str, str, tuple[ObjectReq, ...]]:
    k = 1 if rng.random() < 0.5 else 2
    names = rng.sample(classes, k)
    counts = [rng.randint(1, 4) for _ in range(k)]
    key = "count|" + "|".join(sorted(f"{n}:{c}" for n, c in zip(names, counts)))
    words = rng.random() < 0.5
    parts = [_count_phrase(c, n, words) for n, c in zip(names, counts)]
    style = rng.randrange(3)
    prompt = {0: "a photo of " + " and ".join(parts), 1: " and ".join(parts), 2: "an image of " + " and ".join(parts)}[style]
    return key, key, prompt, tuple(ObjectReq(n, c) for n, c in zip(names, counts))


def _draw_pair(rng: random.Random, classes: Sequence[str], relations: Sequence[str]) -> tuple[str, str, str, str]:
    a, b = rng.sample(classes, 2)
    return a, b, relations[rng.randrange(len(relations))], "|".join(sorted((a, b)))


def _draw_spatial(rng: random.Random, classes: Sequence[str]) -> tuple[str, str, str, tuple[ObjectReq, ...], RelationReq]:
    a, b, rel, pair = _draw_pair(rng, classes, tuple(_SPATIAL_WORDS))
    full = "spatial|" + min(f"{b}|{rel}|{a}", f"{a}|{_INVERSE[rel]}|{b}")
    if rng.random() < 0.5:  # PaintSkills / VPEval wording
        prompt = f"a photo of {a} and {b}; {b} is {_SPATIAL_WORDS[rel][0]} {a}"
    else:
        prompt = f"{_a(b)} {_SPATIAL_WORDS[rel][1]} {_a(a)}"
    return "pair|" + pair, full, prompt, (ObjectReq(a, 1), ObjectReq(b, 1)), RelationReq(b, rel, a)


def _draw_scale(rng: random.Random, classes: Sequence[str]) -> tuple[str, str, str, tuple[ObjectReq, ...], RelationReq]:
    a, b, rel, pair = _draw_pair(rng, classes, tuple(_SCALE_WORDS))
    full = "scale|" + min(f"{b}|{rel}|{a}", f"{a}|{_INVERSE[rel]}|{b}")
    if rng.random() < 0.5:
        prompt = f"a photo of {a} and {b}; {b} is {_SCALE_WORDS[rel]} {a}"
    else:
        prompt = f"{_a(b)} that is {_SCALE_WORDS[rel]} {_a(a)}"
    return "pair|" + pair, full, prompt, (ObjectReq(a, 1), ObjectReq(b, 1)), RelationReq(b, rel, a)


def generate_tasks(kind: str, split: str = "train", n: int = 1000, *, seed: int = 0, classes: str = "coco") -> list[LayoutTask]:
    """`n` template prompts of one kind (`count`, `spatial`, `scale`) for `split` (`train`/`test`).

    Raises:
        ValueError: Unknown kind, split or class list, or `n` larger than the split can hold.
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a generated prompt kind; choose one of {list(KINDS)}.")
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not a generated split; choose one of {list(SPLITS)}.")
    if classes not in CLASS_LISTS:
        raise ValueError(f"classes={classes!r} is not a class list; choose one of {list(CLASS_LISTS)}.")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}.")
    names = CLASS_LISTS[classes]
    rng = random.Random(f"{seed}/{split}/{kind}")
    seen: set[str] = set()
    tasks: list[LayoutTask] = []
    for _ in range(400 * n + 10_000):
        if len(tasks) == n:
            break
        if kind == "count":
            object_key, full, prompt, objects = _draw_count(rng, names)
            relations: tuple[RelationReq, ...] = ()
            scales: tuple[RelationReq, ...] = ()
        elif kind == "spatial":
            object_key, full, prompt, objects, rel = _draw_spatial(rng, names)
            relations, scales = (rel,), ()
        else:
            object_key, full, prompt, objects, rel = _draw_scale(rng, names)
            relations, scales = (), (rel,)
        if full in seen or split_of(object_key) != split:
            continue
        seen.add(full)
        tasks.append(LayoutTask(task_id=f"gen-{kind}-{split}-{len(tasks):05d}", prompt=prompt, source="generated", skill=kind,
                                objects=objects, relations=relations, scales=scales))
    if len(tasks) < n:
        raise ValueError(f"Only {len(tasks)} distinct {kind} prompts fit the {split} split of classes={classes!r}, n={n} asked; ask for fewer.")
    return tasks
