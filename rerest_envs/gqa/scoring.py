"""Judge a GQA program's run: named checks, and the run's result or error as feedback.

Checks, named as in `Feedback.details`:
  * `extracted`: the answer contains code (`program`, `extraction` say what was run).
  * `parses`: the program is valid Python (checked before any sandbox is used).
  * `returned`: `execute_command(image)` returned a value (not None, no exception, no timeout).
  * `answer_matches`: GQA accuracy: the normalised result equals the normalised gold answer.
Score = `answer_matches` (0 or 1); the other checks explain a failure. `message` shows the result or
the error; `privileged` (reflector-only) holds the gold answer, as Re-ReST's reflector prompt does.

Under `protocol="paper"` the answer is read as ViperGPT reads it (`answers.viper_answer` of the
value's `viper_result`, compared with the gold as written): None -> "no", a list -> its first
element; a failed program (exception, timeout, no code, syntax error) gets ViperGPT's fixed code's
answer when the fallback ran, else its result is None, read as "no" (viper main_batch.py
`run_program`). Under the default protocol a failure or a None scores 0.
"""

from __future__ import annotations

from typing import Any

from rerest_envs.core import Feedback
from rerest_envs.gqa.answers import answers_match, normalize_answer, viper_answer
from rerest_envs.gqa.data import GQAQuestion
from rerest_envs.gqa.program import RunOutcome


def privileged_text(question: GQAQuestion) -> str:
    """The reflector-only line: the gold answer (and where it comes from when it is not GQA's)."""
    if question.answer is None:
        return "No gold answer is known for this question (it is run but not scored)."
    source = " (weak label: a VisProg answer judged correct by a person)" if question.answer_source == "weak" else ""
    full = f" Full answer: {question.full_answer}" if question.full_answer else ""
    return f"Correct answer: {question.answer}{source}.{full}"


def no_program(question: GQAQuestion, message: str, details: dict[str, Any]) -> Feedback:
    """Feedback for an answer that never reached the sandbox (no code, syntax error, no perception)."""
    return Feedback(success=False, score=0.0, message=message, privileged=privileged_text(question),
                    details={**details, "returned": False, "answer_matches": False, "gold": question.answer})


def score_run(question: GQAQuestion, outcome: RunOutcome, details: dict[str, Any],
              fallback: str | None = None, *, protocol: str = "default", opening: str | None = None) -> Feedback:
    """Feedback for a program that ran; `fallback` is the viper fallback's answer when it was used.

    `opening` replaces the first line of the message (a program that was not run, paper protocol)."""
    details = {**details, "result": outcome.result, "result_type": outcome.result_type, "error": outcome.error,
               "stdout": outcome.stdout[:2000], "perception_calls": outcome.calls, "duration": round(outcome.duration, 4),
               "gold": question.answer}
    returned = outcome.error is None and outcome.result is not None
    details["returned"] = returned
    if opening is not None:
        message = opening
    elif outcome.error is not None:
        message = f"Your program failed: {outcome.error}"
    elif outcome.result is None and protocol == "paper":
        message = "Your program returned None (ViperGPT reads it as 'no')."
    elif outcome.result is None:
        message = "Your program returned None; execute_command(image) must return the answer as a string."
    else:
        message = f"Your program returned: {outcome.result!r}"
    final = outcome.result if returned else None
    if fallback is not None:
        details["fallback"] = {"used": True, "answer": fallback}
        message += f"\nFallback (simple_query on the whole image) answered: {fallback!r}"
        final = fallback
    if protocol == "paper":
        # viper main_batch.py run_program: the value, or the fixed code's answer after a failure, or None
        if outcome.error is None and fallback is None:
            final = outcome.paper_result if outcome.paper_result is not None else "no"
        elif fallback is None:
            final = "no"
            message += "\nViperGPT scores a failed program's None as 'no'."
        details["final_answer"] = final
        details["normalized"] = normalized = viper_answer(final)
        matches = normalized == question.answer
    else:
        details["final_answer"] = final
        details["normalized"] = None if final is None else normalize_answer(final)
        matches = final is not None and question.answer is not None and answers_match(final, question.answer)
    if question.answer is None:
        details["answer_matches"] = None
        details["scored"] = False
        return Feedback(success=False, score=0.0, message=message, privileged=privileged_text(question), details=details)
    details["answer_matches"] = matches
    if final is not None:
        read = f" (read as {details['normalized']!r})" if protocol == "paper" and details["normalized"] != final else ""
        message += f"\nThat answer{read} is correct." if matches else f"\nThat answer{read} is wrong."
    details["scored"] = True
    return Feedback(success=matches, score=float(matches), message=message, privileged=privileged_text(question), details=details)


__all__ = ["no_program", "privileged_text", "score_run"]
