"""GQA answer matching: VQA-style normalisation of the prediction, then exact match with the answer.

ViperGPT (datasets/gqa.py) counts a prediction correct iff its post-processed form equals GQA's
short answer. Post-processing, as there: lower case, newlines and tabs to spaces, punctuation
removed (a dot between digits kept), number words to digits, articles dropped, common
contractions restored. We also map booleans (`True`/`False`, what a program returns when it forgets
`bool_to_yesno`) to yes/no, and normalise the gold answer the same way, which changes no GQA answer
but makes the comparison symmetric.
"""

from __future__ import annotations

import re

NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = {"a", "an", "the"}
BOOLEANS = {"true": "yes", "false": "no"}
CONTRACTIONS = {"dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "arent": "aren't", "cant": "can't",
                "wont": "won't", "im": "i'm", "ive": "i've", "youre": "you're", "thats": "that's", "whats": "what's"}
_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!*#%^&$|~:]")
_DOT_NOT_DECIMAL = re.compile(r"(?<!\d)\.(?!\d)")


def normalize_answer(text: object) -> str:
    """The comparable form of an answer (`"Two dogs."` -> `"2 dogs"`, `True` -> `"yes"`)."""
    s = str(text).replace("\n", " ").replace("\t", " ").strip().lower()
    s = _PUNCT.sub(" ", s)
    s = _DOT_NOT_DECIMAL.sub("", s)
    words = []
    for word in s.split():
        word = NUMBER_WORDS.get(word, word)
        word = CONTRACTIONS.get(word, word)
        if word not in ARTICLES:
            words.append(word)
    joined = " ".join(words)
    return BOOLEANS.get(joined, joined)


def answers_match(prediction: object, answer: str) -> bool:
    """GQA accuracy for one question: normalised exact match."""
    return normalize_answer(prediction) == normalize_answer(answer)


__all__ = ["answers_match", "normalize_answer"]
