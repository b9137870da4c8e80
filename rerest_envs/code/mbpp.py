"""`rerest/MBPP-v0`: write a Python function from a one-line description; unit tests judge it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
    pass@1: 1.0 when every test (visible and hidden) passes, else 0.0. With `reward="fraction"`
    the reward is the fraction of tests passed, in [0, 1].

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
                   timeout_per_test=3.0, reward="binary", render_mode=None)
    ```
    - `split`: `prompt` (ids 1-10), `test` (11-510), `validation` (511-600), `train` (601-974), `all`.
    - `variant`: `full` (974 problems) or `sanitized` (427 hand-checked ones; same id ranges).
    - `data_dir`: folder with `mbpp.jsonl` / `sanitized-mbpp.json`; default: the data layer
      (`$RERST_DATA_DIR/mbpp`, then `~/.cache/rerest/mbpp`, downloaded from google-research).
    - `sandbox`: `"process"`, `"docker"`, or a `sandboxes.Sandbox` instance (shared, owned by the caller).
    - `timeout_per_test`: seconds each test (and loading the program) may take.
    - `reward`: `"binary"` or `"fraction"`.
    - `render_mode`: `None` or `"ansi"` (the transcript).

    ## Version History
    - v0: initial version.

    ## References
    - Austin et al., "Program Synthesis with Large Language Models", 2021 (MBPP).
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    - Shinn et al., "Reflexion", 2023 (test-feedback format).
    """

    def __init__(self, split: str = "test", variant: Literal["full", "sanitized"] = "full", data_dir: str | Path | None = None, *,
                 sandbox: Any = "process", timeout_per_test: float = 3.0, reward: Literal["binary", "fraction"] = "binary",
                 render_mode: str | None = None) -> None:
        super().__init__(load_mbpp(split, variant, data_dir), sandbox=sandbox, timeout_per_test=timeout_per_test,
                         reward=reward, render_mode=render_mode)
        self.split, self.variant = split, variant
