"""MBPP/HumanEval under hostile answers (issue 16): every string answered in linear time with a valid
observation, and no program forges a pass, on every sandbox backend and under both protocols."""

from __future__ import annotations

import time

import gymnasium
import pytest

import rerest_envs  # noqa: F401
from rerest_envs.code.extract import extract_program
from rerest_envs.code.scoring import _defines
from tests.envs.adversarial import MB, scaling_ratio, valid_step
from tests.sandboxes.test_run_tests import FORGERS

pytestmark = pytest.mark.timeout(600)

ENVS = {"rerest/MBPP-v0": ({"split": "prompt"}, "2", "similar_elements"),
        "rerest/HumanEval-v0": ({}, "HumanEval/0", "has_close_elements")}

HOSTILE = {
    "1 MB of spaces": " " * MB, "1 MB of newlines": "\n" * MB, "tabs and no-break spaces": "\t\u00a0" * 50_000,
    "fence then spaces": "```" + " " * 99_000 + "x", "many fences": "```\n" * 20_000, "nested brackets": "(" * 90_000,
    "python tags": "[PYTHON]" * 10_000, "lone surrogates": "def f():\n    return '\udcff'\n\udcfe", "control characters": "\x00\x01\x1b[2J" * 1000,
    "5,000 digits": "x = " + "9" * 5000, "import line": "import " * 14_000 + "os",
    "100,001 characters": "#" * 100_001,
}


def _make(env_id: str, sandbox, protocol: str):
    kwargs, task_id, entry = ENVS[env_id]
    env = gymnasium.make(env_id, sandbox=sandbox, protocol=protocol, **kwargs)
    return env, task_id, entry


@pytest.mark.parametrize("env_id", list(ENVS))
def test_hostile_text_gets_a_valid_answer_in_bounded_time(env_id):
    env, task_id, _ = _make(env_id, "process", "default")
    for label, action in HOSTILE.items():
        env.reset(options={"task_id": task_id})
        obs, reward, terminated, _, info, _ = valid_step(env, action, label)
        assert reward == 0.0 and terminated and info["feedback"].success is False, label
    env.close()


@pytest.mark.parametrize("unit", [" ", "\n", "```" + " " * 50, "import ", "\t\n "])
def test_readers_are_linear(unit):
    for read in (lambda text: extract_program(text, "f"), lambda text: _defines(text, "f")):
        start = time.perf_counter()
        read(unit * (MB // len(unit)))
        elapsed = time.perf_counter() - start
        assert elapsed < 0.5, elapsed  # quadratic readers took seconds at 20 KB
        if elapsed > 0.05:  # below that, timer noise decides the ratio
            assert scaling_ratio(read, unit) < 30


@pytest.mark.parametrize("protocol", ["default", "paper"])
@pytest.mark.parametrize("env_id", list(ENVS))
def test_no_program_forges_a_pass(sandbox, env_id, protocol):
    env, task_id, entry = _make(env_id, sandbox, protocol)
    forged = []
    for name, program in FORGERS.items():
        env.reset(options={"task_id": task_id})
        answer = "```python\n" + program.replace("def f(", f"def {entry}(") + "\n```"
        obs, reward, _, _, info, _ = valid_step(env, answer, name)
        if reward or info["feedback"].success:
            forged.append(name)
    env.reset(options={"task_id": task_id})
    _, reward, *_ = env.step(env.unwrapped.tasks[task_id].reference)
    assert reward == 1.0  # the honest answer still passes beside them
    assert forged == []
    env.close()
