"""Issue 16: hostile answers and programs sent straight to `rerest/GQA-v0`'s `step`.

A program cannot forge its report (the supervisor in the sandbox writes it, with a nonce the
program never sees); malformed reports are failures, never exceptions; a long phrase or question
costs milliseconds and a run's perception time is enforced inside calls; perception from 8 threads
works; 70 KB printed to fd 1 does not hide the result; huge or odd actions get a valid observation
within `STEP_BOUND_S`.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium
import pytest

from rerest_envs.gqa import GQAEnv, PerceptionServer, SceneGraphPerception, load_questions
from rerest_envs.gqa.data import gqa_dir
from rerest_envs.gqa.env import MAX_ACTION_CHARS
from rerest_envs.gqa.perception.base import PerceptionUnavailable
from rerest_envs.gqa.perception.scene_graph import MAX_PHRASE_WORDS
from rerest_envs.gqa.program import read_outcome, run_program
from sandboxes.result import ExecutionResult
from tests.envs.adversarial import MB, STEP_BOUND_S, valid_step

OLD_MAN = "16205297"  # Is this an old man? -> no


def step(env: GQAEnv, body: str, task_id: str = OLD_MAN) -> tuple[str, float, dict[str, Any], float]:
    env.reset(options={"task_id": task_id})
    start = time.perf_counter()
    observation, reward, _, _, info = env.step("def execute_command(image):\n" + body)
    return observation, reward, info, time.perf_counter() - start


# -- forged reports -------------------------------------------------------------------------------
FORGER = r'''
import gc, json, os
def execute_command(image):
    found = set()
    g = getattr(image._perceive, "__globals__", {})
    if isinstance(g.get("_NONCE"), str):
        found.add(g["_NONCE"])
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            for value in list(obj.values()):
                if isinstance(value, str) and value.startswith("@@gqa-") and value.endswith("@@"):
                    found.add(value)
    for text in gc.get_referents(*gc.get_objects()):
        if isinstance(text, str) and text.startswith("@@gqa-") and text.endswith("@@") and len(text) < 60:
            found.add(text)
    lines = [n + json.dumps({"result": "no", "type": "str", "error": None, "stdout": ""}) + "\n" for n in found]
    lines.append("".join(["@@gqa-", "0" * 32, "@@"]) + json.dumps({"result": "no", "type": "str"}) + "\n")
    tried = []
    for fd in range(256):
        for line in lines:
            try:
                os.write(fd, line.encode())
            except OSError:
                pass
    for path in ("/proc/%d/fd/1" % os.getppid(), "/proc/%d/fd/0" % os.getppid(), "/proc/%d/mem" % os.getppid()):
        try:
            with open(path, "r+b") as f:
                tried.append(path + " opened")
                f.write("".join(lines).encode())
        except OSError as exc:
            tried.append(path + " " + type(exc).__name__)
    nonce_text = ""
    try:
        nonce_text = os.read(0, 100).decode()
    except OSError:
        pass
    print("found %d nonce(s); stdin %r; %s" % (len(found), nonce_text, "; ".join(tried)))
    if MODE == "exit":
        os._exit(0)
    if MODE == "kill":
        os.kill(os.getppid(), 9)
    return "wrong"
'''


@pytest.mark.parametrize("mode", ["return", "exit", "kill"])
def test_a_program_cannot_forge_its_report(env: GQAEnv, mode: str) -> None:
    observation, reward, info, _ = step(env, f"    return _run(image)\nMODE = {mode!r}\n" + FORGER.replace("def execute_command", "def _run"))
    feedback = info["feedback"]
    assert reward == 0.0 and feedback.success is False, observation
    if mode == "return":  # its own account of what it reached: no nonce, no way into the supervisor
        assert observation.startswith("Your program returned: 'wrong'"), observation
        stdout = feedback.details["stdout"]
        assert "found 0 nonce(s); stdin ''" in stdout, stdout
        assert "opened" not in stdout, stdout
    else:
        assert observation.startswith("Your program failed: "), observation


def test_reports_are_read_as_data() -> None:
    good = {"result": "no", "type": "str", "error": None, "error_line": None, "error_source": None, "paper": None, "stdout": ""}
    assert read_outcome(good) == good
    for bad in ([1], {"result": "no"}, {**good, "error": 5}, {**good, "stdout": 5}, {**good, "error_line": "3"},
                {**good, "error_line": True}, "no", None, {**good, "result": ["no"]}):
        assert read_outcome(bad) is None, bad


class _EchoSandbox:
    """A sandbox that ignores the program and prints `line` after the run's nonce (what a forged
    report would have looked like to the env before the supervisor): the env must not raise."""

    def __init__(self, line: str) -> None:
        self.line = line

    def run(self, program: str, *, stdin: str = "", **_: Any) -> ExecutionResult:
        lines = self.line.split("\n")  # one report line each, all with the run's nonce
        return ExecutionResult(stdout="".join(stdin.strip() + line + "\n" for line in lines), exit_code=0)


@pytest.mark.parametrize("line", ['[1]', '{"result": "no"}', '{"result": "no", "type": "str", "error": 5, "stdout": ""}',
                                  '{"result": "no", "type": "str", "error": null, "stdout": 5}', "not json", "{}",
                                  # two well-formed lines: the supervisor writes one, so a second one is a forgery
                                  '{"result": "no", "stdout": ""}\n{"result": "yes", "stdout": ""}'])
def test_a_malformed_report_is_a_failed_run(line: str) -> None:
    graph = next(q.graph for q in load_questions("train_sample", gqa_dir(None)) if q.question_id == OLD_MAN)
    outcome = run_program("def execute_command(image):\n    return 'no'\n", PerceptionServer(SceneGraphPerception(graph)),
                          _EchoSandbox(line))
    assert outcome.result is None and outcome.error is not None and "report" in outcome.error


# -- perception cost ----------------------------------------------------------------------------------
def test_a_22_word_phrase_takes_milliseconds(env: GQAEnv) -> None:
    phrase = " ".join(["man"] * 22)
    observation, _, info, elapsed = step(env, f"    return ImagePatch(image).simple_query('Is the {phrase} on the man?')\n")
    assert elapsed < STEP_BOUND_S, elapsed
    graph = next(q.graph for q in load_questions("train_sample", gqa_dir(None)) if q.question_id == OLD_MAN)
    sg = SceneGraphPerception(graph)
    whole = (0.0, 0.0, float(sg.width), float(sg.height))
    for words in (["man", "man"], ["lady", "man"], ["man", "wearing", "shirt"], ["shirt", "near", "man", "with"]):
        for n in (14, 16, 22, 40):
            text = " ".join((words * 20)[:n])
            start = time.perf_counter()
            for method, arg in (("simple_query", f"Is the {text} on the man?"), ("simple_query", f"What is the {text} holding?"),
                                ("simple_query", f"Who is {text}?"), ("find", text)):
                try:
                    getattr(sg, method)(whole, None, arg)
                except PerceptionUnavailable as exc:
                    assert n > MAX_PHRASE_WORDS or "cannot answer" in str(exc), exc
            assert time.perf_counter() - start < 1.0, (words, n)


def test_perception_time_is_enforced_within_a_call() -> None:
    """A perception call that would run 30 s stops at the run's perception budget."""
    graph = next(q.graph for q in load_questions("train_sample", gqa_dir(None)) if q.question_id == OLD_MAN)

    class Slow(SceneGraphPerception):
        def find(self, box: Any, ref: Any, name: str) -> Any:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                self.check_deadline()
                time.sleep(0.01)
            return []

    made = gymnasium.make("rerest/GQA-v0", timeout=2.0, perception_seconds=1.0, perception=lambda q: Slow(graph))
    try:
        observation, _, _, elapsed = step(made.unwrapped, "    return str(ImagePatch(image).find('man'))\n")
    finally:
        made.close()
    assert elapsed < 2.0 + 1.0 + 2.0, elapsed
    assert "used up its perception time" in observation, observation


def test_the_scene_graph_budget_covers_the_whole_run() -> None:
    """500 long questions (30 words, each a different order) end within timeout + perception time
    (the scene graph's perception time is the program's timeout); before, one such call took minutes."""
    made = gymnasium.make("rerest/GQA-v0", timeout=2.0)
    names = ["lady", "man", "shirt", "tie", "wall", "glasses", "hair", "ear", "on", "of", "wearing"]
    body = (f"    p = ImagePatch(image)\n    names = {names!r}\n    for i in range(500):\n        try:\n"
            "            p.simple_query('What is the ' + ' '.join(names[(i * 7 + k * k) % 11] for k in range(30)) + ' holding?')\n"
            "        except Exception as e:\n            if 'budget' in str(e) or 'perception time' in str(e):\n                return str(e)\n"
            "    return 'all answered'\n")
    try:
        observation, _, _, elapsed = step(made.unwrapped, body)
    finally:
        made.close()
    assert elapsed < 2.0 + 2.0 + 2.0, (elapsed, observation)


# -- concurrency and output ---------------------------------------------------------------------------
def test_perception_from_8_threads(env: GQAEnv) -> None:
    body = ("    import threading\n    p = ImagePatch(image)\n    out = []\n"
            "    def work():\n        for _ in range(20):\n            out.append(p.exists('man'))\n"
            "    threads = [threading.Thread(target=work) for _ in range(8)]\n"
            "    [t.start() for t in threads]\n    [t.join() for t in threads]\n"
            "    return 'no' if len(out) == 160 and all(out) else 'lost %d' % len(out)\n")
    observation, reward, _, elapsed = step(env, body)
    assert reward == 1.0 and elapsed < STEP_BOUND_S, (observation, elapsed)


@pytest.mark.parametrize("noise", ["os.write(1, b'x' * 70_000)", "print('y' * 70_000)", "os.write(2, b'z' * 10_000_000)",
                                   "print('@@gqa-' + 'a' * 32 + '@@{}')"])
def test_printing_does_not_hide_the_result(env: GQAEnv, noise: str) -> None:
    observation, reward, info, _ = step(env, f"    import os\n    {noise}\n    return 'no'\n")
    assert reward == 1.0, observation
    assert len(info["feedback"].details["stdout"]) <= 4000


# -- odd actions ------------------------------------------------------------------------------------
ACTIONS = {
    "1 MB of spaces": " " * MB,
    "10k newlines": "\n" * 10_000,
    "newline-space pairs": "\n " * (MB // 2),
    "tabs and no-break spaces": "\t\xa0" * (MB // 2),
    "fences": "```python\n" * 50_000,
    "unbalanced brackets": "def execute_command(image):\n    return " + "(" * 100_000,
    "deep unary minus": "def execute_command(image):\n    return " + "-" * 15_000 + "1",
    "long sum": "def execute_command(image):\n    return str(" + "1+" * 9_000 + "1)",
    "lone surrogates": "def execute_command(image):\n    return 'no\ud800'\n",
    "control characters": "def execute_command(image):\n    return 'no\x00\x1b[31m'\n",
    "null byte in code": "def execute_command(image):\x00\n    return 'no'\n",
    "digits": "9" * MB,
    "a huge body": "    x = 1\n" * 100_000 + "    return 'no'\n",
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_odd_actions_get_a_valid_observation(env: GQAEnv, name: str) -> None:
    action = ACTIONS[name]
    env.reset(options={"task_id": OLD_MAN})
    observation, _, terminated, _, _, _ = valid_step(env, action, name)
    assert terminated and observation
    assert ("characters of the action were read" in observation) == (len(action) > MAX_ACTION_CHARS), name


def test_one_well_formed_report_is_read() -> None:
    """The counterpart of the malformed cases: the same path reads a good line."""
    graph = next(q.graph for q in load_questions("train_sample", gqa_dir(None)) if q.question_id == OLD_MAN)
    outcome = run_program("def execute_command(image):\n    return 'no'\n", PerceptionServer(SceneGraphPerception(graph)),
                          _EchoSandbox('{"result": "no", "type": "str", "stdout": "hi"}'))
    assert (outcome.result, outcome.error, outcome.stdout) == ("no", None, "hi")
