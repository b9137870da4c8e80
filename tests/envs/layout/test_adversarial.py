"""Issue 16: adversarial answers sent straight to `env.step` get a fast, valid observation.

Each answer is sent at step 1 (objects) and again at step 2 (boxes) and must raise nothing, take
less than `STEP_BOUND_S` (2 s, generous because the machine may be loaded: a step takes
milliseconds), and get an observation inside the observation space that encodes as UTF-8. The readers must also be linear in their input
(1 MB takes about ten times as long as 100 KB; a quadratic reader, a hundred times) and split and
read step-1 items exactly as the regexes they replaced.
"""

from __future__ import annotations

import random
import re

import pytest

from rerest_envs.layout import MAX_BOXES, LayoutEnv, parse_layout, parse_objects
from rerest_envs.layout.env import MAX_ACTION_CHARS
from rerest_envs.layout.parse import MAX_NOTES, _count_item, _split_items
from tests.envs.adversarial import MB, scaling_ratio, valid_step


@pytest.fixture(scope="module", params=[("generated-spatial", "default"), ("generated-spatial", "paper"), ("nsr1k-spatial", "paper")],
                ids=["default", "paper-vpeval", "paper-layoutgpt"])
def env(request: pytest.FixtureRequest) -> LayoutEnv:
    """Both protocols; `paper` on NSR-1K runs LayoutGPT's difflib matching and pairwise cones (issue 17)."""
    prompt_set, protocol = request.param
    return LayoutEnv(prompt_set, steps=2, protocol=protocol)


@pytest.fixture(scope="module")
def task_id(env: LayoutEnv) -> str:
    return next(t.task_id for t in env.tasks.values() if t.relations)


def _boxes(phrase: str, n: int, box: str) -> str:
    return f"{phrase} [" + ", ".join([box] * n) + "]"


def adversarial(subject: str, obj: str) -> dict[str, str]:
    return {
        "100k spaces": " " * 100_000,
        "1 MB of spaces": " " * MB,
        "10k newlines": "\n" * 10_000,
        "newline-space pairs": "\n " * (MB // 2),
        "tabs and no-break spaces": "\t\xa0" * (MB // 2),
        "dog [(1, 50k spaces, x": "dog [(1" + " " * 50_000 + "x",
        "and between spaces": " and" * (MB // 4),
        "andy after spaces": "  andy" * (MB // 6),
        "a count of 5,000 digits": "dog (" + "9" * 5_000 + ")",
        "a leading count of 5,000 digits": "9" * 5_000 + " dogs",
        "a coordinate of 400 digits": "dog [(" + "9" * 400 + ", 1, 2, 3)]",
        "5,000 boxes for each of two related objects":
            _boxes(subject, 5_000, "(10, 10, 20, 20)") + " " + _boxes(obj, 5_000, "(5, 50, 5, 60)"),
        "one object name per box": " ".join(f"thing{i} [(1, 2, 3, 4)]" for i in range(5_000)),
        "boxes without a name": "[(1, 2, 3, 4)] " * 5_000,
        "bad boxes": "dog (1, 2) " * (MB // 11),
        "unbalanced brackets": "[(" * (MB // 2),
        "nested brackets": "dog " + "[" * (MB // 2) + "]" * (MB // 2),
        "digits": "9" * MB,
        "a long phrase": "dog" * (MB // 3) + " [(1, 2, 3, 4)]",
        "lone surrogates": "dog\ud800 (2), cat\udfff [(10, 10, 20, 20)]",
        "a count word that is no key": "\u017fix dogs",  # long s: matches "six" case-insensitively
        "control characters": "dog\x00\x1b[31m (2) [(1,\x7f 2, 3, 4)]",
    }


def test_adversarial_answers_get_a_valid_observation(env: LayoutEnv, task_id: str) -> None:
    task = env.tasks[task_id]
    slowest = 0.0
    for name, action in adversarial(task.relations[0].subject, task.relations[0].object).items():
        env.reset(options={"task_id": task_id})
        for step in (1, 2):
            obs, _, terminated, _, _, elapsed = valid_step(env, action, f"{name}, step {step}")
            slowest = max(slowest, elapsed)
            assert terminated == (step == 2)
            assert ("characters of the action were read" in obs) == (len(action) > MAX_ACTION_CHARS), name
    print(f"slowest step: {slowest * 1000:.0f} ms")


def test_boxes_beyond_the_cap_are_ignored_and_notes_are_capped(env: LayoutEnv, task_id: str) -> None:
    task = env.tasks[task_id]
    env.reset(options={"task_id": task_id})
    env.step("x (1)")
    action = _boxes(task.relations[0].subject, 150, "(10, 10, 10, 20)")  # zero area: a note per box
    obs, *_, info = env.step(action)
    assert len(info["feedback"].details["layout"]) == MAX_BOXES
    assert f"only the first {MAX_BOXES} boxes were read: the 50 after them were ignored" in obs
    assert f"{MAX_BOXES + 1 - MAX_NOTES} more not shown" in obs and obs.count("the box has zero area") == MAX_NOTES - 1


def test_counts_above_the_box_cap_are_reading_errors() -> None:
    parsed = parse_objects(f"dog ({MAX_BOXES}), cat ({MAX_BOXES + 1}), bird (0005), {'9' * 5_000} cows, two horses")
    assert parsed.items == [("dog", MAX_BOXES), ("bird", 5), ("horses", 2)]
    assert len(parsed.errors) == 2 and all(e.endswith(f"a count is at most {MAX_BOXES}") for e in parsed.errors)
    assert parsed.errors[1].startswith("could not read `999") and len(parsed.errors[1]) < 200


def test_a_lone_surrogate_is_read_as_the_replacement_character(env: LayoutEnv, task_id: str) -> None:
    env.reset(options={"task_id": task_id})
    obs, *_ = env.step("dog\ud800 (2)")
    assert obs.endswith("Objects: dog\ufffd (2)")


@pytest.mark.parametrize("unit", [" ", "\n", "\n ", "\t\xa0", " and", "  andy", "dog [(1 ", "9", "(1 ", "[(1, 2, 3, 4)] "],
                         ids=["spaces", "newlines", "newline-space", "tab-nbsp", "and", "andy", "open-box", "digits", "paren", "boxes"])
def test_readers_are_linear_in_their_input(unit: str) -> None:
    """The readers alone, without the env's cap: 1 MB may take at most 30x as long as 100 KB."""
    ratio = scaling_ratio(lambda text: (parse_objects(text), parse_layout(text)), unit)
    assert ratio < 30, f"1 MB took {ratio:.0f}x as long as 100 KB"


def test_items_are_read_as_the_old_regexes_read_them() -> None:
    """The linear item splitter and `(count)` reader agree with the backtracking regexes they replaced."""
    old_split = re.compile(r"[,;\n]|\s+and\s+")
    old_item = re.compile(r"^(.*?)\s*[(\[]\s*(\d+)\s*[)\]]?\s*\.?$")
    pieces = [" ", "\n", "\t", "\xa0", "\r", ",", ";", "and", "an", "d", "x", "(", ")", "[", "]", "1", "2", ".", "\u0663", "dog"]
    rng = random.Random(16)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert _split_items(text) == old_split.split(text), repr(text)
        item = text.replace("\n", " ")  # items never hold a newline: it splits them
        m = old_item.match(item)
        assert _count_item(item) == (m.groups() if m else None), repr(item)
