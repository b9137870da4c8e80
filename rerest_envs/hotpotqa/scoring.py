"""Judge a HotpotQA answer: exact match after the standard HotpotQA normalisation, F1 as a metric.

The normalisation and both metrics are those of the official `hotpot_evaluate_v1.py` (which copies
SQuAD's): lowercase, drop punctuation, drop the articles a/an/the, collapse whitespace; F1 is 0 when
either side is yes/no/noanswer and the two differ.

Checks, named as in `Feedback.details` (STYLE habit 7), each a score in [0, 1] and one sentence:
  * `exact_match` (weight 1): the normalised answer equals the normalised gold answer.
  * `f1` (weight 0, a metric): token-level F1 against the gold answer.
  * `answered` (weight 0, a metric): the agent gave a non-empty answer.
`Feedback.score` is the weighted mean (so it is EM); the gold answer and the supporting facts go to
`privileged` only, never to `message` or `details`.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable

from rerest_envs.core import Feedback
from rerest_envs.hotpotqa.data import HotpotRecord

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """HotpotQA/SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_precision_recall(prediction: str, gold: str) -> tuple[float, float, float]:
    """Token F1, precision and recall as `hotpot_evaluate_v1.f1_score` computes them."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in ("yes", "no", "noanswer") or ref in ("yes", "no", "noanswer")) and pred != ref:
        return 0.0, 0.0, 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    same = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if same == 0:
        return 0.0, 0.0, 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall), precision, recall


def f1_score(prediction: str, gold: str) -> float:
    """Token-level F1 in [0, 1]."""
    return f1_precision_recall(prediction, gold)[0]


# -- named checks ------------------------------------------------------------------------------------
def check_exact_match(answer: str, gold: str) -> tuple[float, str]:
    if exact_match(answer, gold):
        return 1.0, "The answer matches the gold answer after normalisation."
    return 0.0, "The answer does not match the gold answer after normalisation."


def check_f1(answer: str, gold: str) -> tuple[float, str]:
    f1, precision, recall = f1_precision_recall(answer, gold)
    return f1, f"Token overlap with the gold answer: F1 {f1:.3f} (precision {precision:.3f}, recall {recall:.3f})."


def check_answered(answer: str, gold: str) -> tuple[float, str]:
    if answer.strip():
        return 1.0, "An answer was given."
    return 0.0, "No answer was given."


#: name -> (weight, check); weight-0 checks are metrics and only appear in `details`.
CHECKS: dict[str, tuple[float, Callable[[str, str], tuple[float, str]]]] = {
    "exact_match": (1.0, check_exact_match),
    "f1": (0.0, check_f1),
    "answered": (0.0, check_answered),
}


def privileged_text(record: HotpotRecord) -> str:
    """Reflector-only text: the gold answer and the supporting-fact sentences (when known)."""
    lines = [f"Gold answer: {record.answer}"]
    if record.supporting_facts:
        pages = dict(record.context)
        lines.append("Supporting facts:")
        for title, index in record.supporting_facts:
            sentences = pages.get(title, ())
            text = sentences[index].strip() if 0 <= index < len(sentences) else "(sentence not in the record's context)"
            lines.append(f"- {title} [{index}]: {text}")
    return "\n".join(lines)


def score_answer(answer: str, record: HotpotRecord) -> Feedback:
    """Judge the `Finish[answer]` argument against `record`'s gold answer."""
    details: dict[str, object] = {"answer": answer, "normalized_answer": normalize_answer(answer)}
    total = weights = 0.0
    for name, (weight, check) in CHECKS.items():
        score, explanation = check(answer, record.answer)
        details[name] = {"score": score, "weight": weight, "explanation": explanation}
        total, weights = total + weight * score, weights + weight
    score = total / weights
    success = score == 1.0
    if success:
        message = f"Your answer {answer.strip()!r} is correct."
    elif not answer.strip():
        message = "No answer was given: Finish[] was empty, so the question counts as unanswered."
    else:
        message = f"Your answer {answer.strip()!r} is wrong."
    return Feedback(success=success, score=score, message=message, privileged=privileged_text(record), details=details)
