"""Lenient action parsing and the standard HotpotQA answer metrics."""

from __future__ import annotations

import pytest

from rerest_envs.hotpotqa import ACTION_GRAMMAR, exact_match, f1_score, normalize_answer, parse_action


@pytest.mark.parametrize(
    ("text", "verb", "argument"),
    [
        ("Search[Scott Derrickson]", "search", "Scott Derrickson"),
        ("search[ Scott Derrickson ]", "search", "Scott Derrickson"),
        ("SEARCH[Ed Wood]", "search", "Ed Wood"),
        ("Thought 1: I need to search Ed Wood.\nAction 1: Search[Ed Wood]\nObservation 1:", "search", "Ed Wood"),
        ("Thought: find it\nAction: lookup[born]", "lookup", "born"),
        ("Look up[nationality]", "lookup", "nationality"),
        ("Finish[yes]", "finish", "yes"),
        ("finish[[O.S. 6 January] 1835]", "finish", "[O.S. 6 January] 1835"),
        ('Finish["Chief of Protocol"]', "finish", "Chief of Protocol"),
        ("Search(Ed Wood)", "search", "Ed Wood"),
        ("Search: Ed Wood", "search", "Ed Wood"),
        ("Finish[Ed Wood", "finish", "Ed Wood"),
        ("Finish[]", "finish", ""),
        ("**Action 2:** Finish[no]", "finish", "no"),
    ],
)
def test_parse_action_is_lenient(text: str, verb: str, argument: str) -> None:
    parsed = parse_action(text)
    assert (parsed.verb, parsed.argument, parsed.error) == (verb, argument, "")


@pytest.mark.parametrize("text", ["", "I don't know", "Search for Ed Wood", "finished", "\x00\x1b[31m", "researcher[x]"])
def test_unreadable_actions_get_the_grammar(text: str) -> None:
    parsed = parse_action(text)
    assert parsed.verb is None and parsed.error.startswith("Invalid Action") and "Search[<entity>]" in parsed.error


def test_grammar_names_every_verb() -> None:
    assert all(v in ACTION_GRAMMAR for v in ("Search[entity]", "Lookup[keyword]", "Finish[answer]"))


def test_normalisation_and_metrics_follow_hotpot_evaluate_v1() -> None:
    assert normalize_answer("The  Chief of Protocol!") == "chief of protocol"
    assert exact_match("the chief of protocol", "Chief of Protocol") == 1.0
    assert exact_match("Chief", "Chief of Protocol") == 0.0
    assert f1_score("Chief", "Chief of Protocol") == pytest.approx(0.5)
    # yes/no answers get no partial credit
    assert f1_score("yes", "no") == 0.0 and f1_score("yes it is", "yes") == 0.0 and f1_score("Yes.", "yes") == 1.0
    assert f1_score("", "Paris") == 0.0 and exact_match("", "") == 1.0
