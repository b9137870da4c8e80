"""`rerest_envs.testing.check_text_env` (issue 16): every registered id passes it, and it catches bad envs.

The bad envs (tests/envs/toy_text_envs.py) are what users write: a backtracking regex that is
quadratic on whitespace, `int()` on a digit run, the global `random` module, an echo of the action.
Each must fail the check that names its fault, with the input that showed it.
"""

from __future__ import annotations

import random

import gymnasium
import pytest

import rerest_envs
from rerest_envs import Feedback
from rerest_envs.errors import EnvCheckFailed
from rerest_envs.testing import EXAMPLE_ACTIONS, adversarial_actions, check_text_env, fuzz_actions, step_problems
from tests.envs import toy_text_envs

#: Ids whose check takes more than five seconds here (ALFWorld: each reset loads a game, ~1-2 s; MBPP
#: and GQA run every well-formed program in a sandbox).
SLOW = {"rerest/ALFWorld-v0", "rerest/MBPP-v0", "rerest/GQA-v0"}


def _param(env_id: str) -> object:
    return pytest.param(env_id, marks=[pytest.mark.slow] if env_id in SLOW else [], id=env_id)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("env_id", [_param(i) for i in rerest_envs.registered_ids()])
def test_every_registered_env_passes(env_id: str) -> None:
    report = check_text_env(env_id)  # raises EnvCheckFailed with the report on any failure
    print(report)
    assert report.passed and report.exceptions == 0
    assert report.actions > 300 and report.size == 100_000
    assert [c.name for c in report.checks] == ["reset", "fixed inputs", "sized inputs", "linear time", "grammar fuzz", "determinism"]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ["rerest/HotpotQA-v0", "rerest/Layout-v0"])
def test_megabyte_inputs(env_id: str) -> None:
    """Issue 16's sizes: ladders up to 1,000,000 characters."""
    print(check_text_env(env_id, size=1_000_000))


def test_every_registered_id_has_examples() -> None:
    assert set(EXAMPLE_ACTIONS) == set(rerest_envs.registered_ids())


# -- bad envs it must catch -------------------------------------------------------------------------

def test_a_good_user_env_passes_by_its_id() -> None:
    gymnasium.register("acme/Counter-v0", entry_point=toy_text_envs.CounterEnv, max_episode_steps=2)
    try:
        report = check_text_env("acme/Counter-v0", examples=["7", "my guess is 3"], size=20_000)
    finally:
        gymnasium.registry.pop("acme/Counter-v0")
    assert report.passed and "no second instance" not in report["determinism"].detail
    assert "PASS determinism" in str(report) and report.summary().startswith("check_text_env(acme/Counter-v0): 6 of 6 checks passed")


def test_a_quadratic_regex_is_caught() -> None:
    report = check_text_env(toy_text_envs.QuadraticEnv(), examples=["7"], size=10_000, raise_on_failure=False)
    slow = report["sized inputs"].failures + report["linear time"].failures
    assert not report.passed and slow, str(report)
    assert any("spaces, then a letter" in line and ("over its bound" in line or "superlinear" in line) for line in slow), slow


def test_a_quadratic_regex_fails_linear_time_even_under_a_lax_step_bound() -> None:
    report = check_text_env(toy_text_envs.QuadraticEnv(), examples=["7"], size=10_000, min_bound_s=60.0, raise_on_failure=False)
    assert report["sized inputs"].passed and not report["linear time"].passed, str(report)
    assert any("superlinear in the input" in line and "spaces" in line for line in report["linear time"].failures)


def test_an_exception_is_caught_with_its_input() -> None:
    with pytest.raises(EnvCheckFailed, match=r"RaisingEnv failed .*sized inputs") as caught:
        check_text_env(toy_text_envs.RaisingEnv(), examples=["7"], size=10_000)
    assert isinstance(caught.value, AssertionError)
    assert "`a digit run` (10,000 chars): raised ValueError: Exceeds the limit (4300 digits)" in str(caught.value)
    report = check_text_env(toy_text_envs.RaisingEnv(), examples=["7"], size=10_000, raise_on_failure=False)
    assert report.exceptions > 0 and not report["sized inputs"].passed


def test_nondeterminism_is_caught() -> None:
    report = check_text_env(toy_text_envs.NondeterministicEnv(), examples=["7"], size=1_000, raise_on_failure=False)
    assert [c.name for c in report.checks if not c.passed] == ["determinism"], str(report)
    assert report["determinism"].failures[0].startswith("the same instance replayed: at reset(seed=0), the observation differs")


def test_an_echo_is_caught_outside_its_space_and_utf8_and_json() -> None:
    report = check_text_env(toy_text_envs.EchoEnv(), examples=["hello"], size=100_000, raise_on_failure=False)
    failures = "\n".join(f for c in report.checks for f in c.failures)
    assert "`one lone surrogate` (1 chars): the observation is not valid UTF-8 ('\\ud800' at index 10" in failures
    assert "is outside AnyText(0, 50000)" in failures
    assert "`the empty action` (0 chars): info['feedback'] changes in its JSON round trip" in failures


# -- the parts --------------------------------------------------------------------------------------

def test_step_problems_names_each_fault() -> None:
    env = toy_text_envs.EchoEnv()
    good = ("ok", 0.5, True, False, {"feedback": Feedback(score=0.5, details={"n": [1, 2]})})
    assert step_problems(env, good) == []
    assert step_problems(env, ("ok", float("nan"), 1, False, {})) == [
        "the reward nan is not a finite number", "terminated is a int, not a bool", "info has no 'feedback'"]
    assert step_problems(env, ("ok", 0.0, True, False, {"note": "\udfff"}), require_feedback=False) == [
        "info['note'] is not valid UTF-8 ('\\udfff' at index 0: surrogates not allowed)"]
    assert step_problems(env, ("ok", 0.0, True, False, {"feedback": "passed"}))[0].startswith("info['feedback'] is a str")


def test_the_catalogue_covers_every_kind_of_hostile_text() -> None:
    sized, fixed = adversarial_actions(["Search[x]"])
    texts = {s.label: s.make(1_000) for s in sized}
    assert all(900 <= len(t) <= 1_100 for t in texts.values()), {k: len(t) for k, t in texts.items() if not 900 <= len(t) <= 1_100}
    every = "".join(texts.values()) + "".join(fixed.values())
    for needle in (" ", "\t", "\n", "\r\n", "\xa0", "\u3000", "\u2028", "\x0b", "\u200b", "\ud800", "\udfff", "\x00", "\x1b",
                   "[[[[", "]]]]", "[(", "9999", "\u0663", "\uff19", "x\nx\n", "(10, 10, 20, 20), (10", "Search[x]Search[x]"):
        assert needle in every, repr(needle)
    assert texts["nested brackets"] == "[" * 500 + "]" * 500
    assert texts["example 0 (Search[x]) with its brackets nested"].startswith("Search" + "[" * 100)
    assert fixed["the empty action"] == ""


def test_fuzzing_is_seeded() -> None:
    examples = list(EXAMPLE_ACTIONS["rerest/Layout-v0"])
    assert fuzz_actions(examples, 30, seed=3) == fuzz_actions(examples, 30, seed=3)
    assert fuzz_actions(examples, 30, seed=3) != fuzz_actions(examples, 30, seed=4)
    fuzzed = fuzz_actions(examples, 200, seed=0, max_len=5_000)
    assert len({a for _, a in fuzzed}) > 190 and max(len(a) for _, a in fuzzed) < 5 * 5_000
    random.seed(0)  # the fuzzer owns its generator: the global one does not change it
    assert fuzz_actions(examples, 5, seed=1) == (random.seed(99), fuzz_actions(examples, 5, seed=1))[1]
