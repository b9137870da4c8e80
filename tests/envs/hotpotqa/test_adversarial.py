"""Issue 16: adversarial actions sent straight to `env.step` get a fast, valid observation.

Each action must raise nothing, take less than `STEP_BOUND_S` (2 s, generous because the machine
may be loaded: a step takes milliseconds), and get an observation inside the observation space that
encodes as UTF-8. The parser must
also be linear in its input: 1 MB takes about ten times as long as 100 KB (a quadratic parser, a
hundred times), and it must read the same `Action:` markers as the regex it replaced.
"""

from __future__ import annotations

import random
import re

import pytest

from rerest_envs.hotpotqa import HotpotQAEnv, parse_action
from rerest_envs.hotpotqa.actions import _ACTION_MARKER
from rerest_envs.hotpotqa.env import MAX_ACTION_CHARS
from tests.envs.adversarial import MB, scaling_ratio, valid_step

TASK = "5a8b57f25542995d1e6f1371"  # Were Scott Derrickson and Ed Wood of the same nationality?

ADVERSARIAL = {
    "1 MB of spaces": " " * MB,
    "16k spaces": " " * 16_000,
    "1,000 newlines": "\n" * 1_000,
    "10k newlines": "\n" * 10_000,
    "newline-space pairs": "\n " * (MB // 2),
    "tabs and no-break spaces": "\t\xa0" * (MB // 2),
    "Search[x] and 2,000 newlines": "Search[x]" + "\n" * 2_000,
    "1.2 MB Search": "Search[" + "a" * 1_200_000 + "]",
    "1.2 MB Finish": "Finish[" + "yes " * 300_000 + "]",
    "Action: and 1 MB of spaces": "Action:" + " " * MB,
    "starred lines": "** \n" * (MB // 4),
    "action without a colon, repeated": "action " * (MB // 7),
    "look and spaces, repeated": "look " * (MB // 5),
    "unbalanced brackets": "Search[" * (MB // 7),
    "nested brackets": "Finish" + "[" * (MB // 2) + "]" * (MB // 2),
    "digits": "Action " + "9" * MB,
    "lone surrogate in Search": "Search[\ud800]",
    "lone surrogate in Lookup": "Lookup[\udfff]",
    "lone surrogate in Finish": "Finish[\ud800 x]",
    "lone surrogate alone": "\ud800",
    "control characters": "Search[\x00\x01\x1b[31m\x7f]",
}


@pytest.fixture(scope="module")
def env() -> HotpotQAEnv:
    return HotpotQAEnv(split="dev")


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_action_gets_a_valid_observation(env: HotpotQAEnv, name: str) -> None:
    action = ADVERSARIAL[name]
    env.reset(options={"task_id": TASK})
    obs, *_, info, _ = valid_step(env, action, name)
    str(info["argument"]).encode("utf-8")
    assert ("characters of the action were read" in obs) == (len(action) > MAX_ACTION_CHARS)


def test_an_overlong_search_is_cut_and_says_so(env: HotpotQAEnv) -> None:
    env.reset(options={"task_id": TASK})
    obs, *_, info = env.step("Search[" + "a" * 1_200_000 + "]")
    assert obs.startswith("Could not find [aaa") and len(obs) < 2 * MAX_ACTION_CHARS
    assert obs.endswith("(Only the first 10,000 characters of the action were read.)")
    assert len(info["argument"]) == MAX_ACTION_CHARS - len("Search[")


def test_a_lone_surrogate_is_read_as_the_replacement_character(env: HotpotQAEnv) -> None:
    env.reset(options={"task_id": TASK})
    obs, *_, info = env.step("Search[\ud800]")
    assert obs == "Could not find [\ufffd]. Similar: []" and info["argument"] == "\ufffd"


def test_finish_after_a_long_thought_is_still_read(env: HotpotQAEnv) -> None:
    """A normal action after long text inside the cap keeps its verdict."""
    env.reset(options={"task_id": TASK})
    obs, reward, terminated, *_ = env.step("Thought:" + " " * 5_000 + "\n" * 2_000 + "Action 3: Finish[yes]")
    assert (reward, terminated) == (1.0, True) and obs == "Your answer 'yes' is correct."


@pytest.mark.parametrize("unit", [" ", "\n", "\n ", "\t\xa0", "** \n", "Action ", "look ", "Search[", "9"],
                         ids=["spaces", "newlines", "newline-space", "tab-nbsp", "stars", "action", "look", "brackets", "digits"])
def test_parser_is_linear_in_its_input(unit: str) -> None:
    """The parser alone, without the env's cap: 1 MB may take at most 30x as long as 100 KB."""
    ratio = scaling_ratio(parse_action, unit)
    assert ratio < 30, f"1 MB took {ratio:.0f}x as long as 100 KB"


def test_marker_reads_what_the_old_regex_read() -> None:
    """The linear `Action:` regex agrees with the backtracking one it replaced, on random short texts."""
    old = re.compile(r"(?im)^\s*\**\s*action\s*\d*\s*\**\s*:")
    pieces = [" ", "\n", "\t", "\xa0", "\r", "*", ":", "1", "action", "Action", "ACTION", "x", "Search[", "]"]
    rng = random.Random(16)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        a, b = old.search(text), _ACTION_MARKER.search(text)
        assert (a and a.end()) == (b and b.end()), repr(text)
