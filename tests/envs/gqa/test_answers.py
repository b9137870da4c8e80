"""GQA answer normalisation and matching (ViperGPT's VQA-style post-processing)."""

from __future__ import annotations

import pytest

from rerest_envs.gqa import answers_match, normalize_answer


@pytest.mark.parametrize("raw, expected", [
    ("Yes.", "yes"), ("The Wine Glass", "wine glass"), ("two", "2"), ("  an apple\n", "apple"), (True, "yes"),
    ("False", "no"), ("3.5", "3.5"), ("left!", "left"), ("T-shirt", "t shirt"), ("dont", "don't"),
])
def test_normalize(raw: object, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_match_is_exact_after_normalisation() -> None:
    assert answers_match("The man", "man")
    assert answers_match("2", "two") and answers_match("Two", "2")
    assert not answers_match("men", "man")
    assert not answers_match("", "no")
