"""`TextEnv`: the base class of every rerest environment (text observations, text actions).

It does the bookkeeping every task needs so that a task file only says how to start a task and how
to answer an action: picking the task from `options["task_id"]` or the seeded `np_random`, refusing
`step` before `reset`, keeping an `ansi` transcript, and putting `task_id` and `feedback` in `info`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium

from rerest_envs.core.feedback import Feedback
from rerest_envs.core.spaces import AnyText
from rerest_envs.errors import ResetNeeded, UnknownTask

#: `reset(options=...)` keys every TextEnv understands.
RESET_OPTIONS = ("task_id",)


class TextEnv(gymnasium.Env[str, str]):
    """Base class: subclasses set `task_ids` and implement `_start` and `_act`.

    Subclass contract:
        `task_ids`: the ids of the loaded split, in a stable order (the seed indexes into it).
        `_start(task_id) -> (observation, info)`: begin an episode on that task.
        `_act(action) -> (observation, reward, terminated, feedback, info)`: answer one action;
            never raise on bad action text, answer it.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, *, max_text_length: int = 1_000_000) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r} is not supported; choose one of {self.metadata['render_modes']} or None.")
        self.render_mode = render_mode
        self.observation_space = AnyText(max_text_length)
        self.action_space = AnyText(max_text_length)
        self.task_ids: Sequence[str] = ()
        self._task_id: str | None = None
        self._done = True
        self._transcript: list[str] = []

    # -- subclass hooks -------------------------------------------------------------------------
    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        raise NotImplementedError

    # -- gymnasium API --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode. `options={"task_id": ...}` picks the task, otherwise the seed does."""
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = set(options) - set(RESET_OPTIONS)
        if unknown:
            raise ValueError(f"Unknown reset option(s) {sorted(unknown)}; {type(self).__name__} accepts {list(RESET_OPTIONS)}.")
        if not self.task_ids:
            raise UnknownTask(f"{type(self).__name__} has no tasks loaded (empty split?).")
        task_id = options.get("task_id")
        if task_id is None:
            task_id = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        else:
            task_id = str(task_id)
            if task_id not in self._task_id_set():
                close = difflib.get_close_matches(task_id, [str(t) for t in self.task_ids], n=3)
                hint = f" Did you mean {close}?" if close else f" Valid ids look like {list(self.task_ids[:3])}."
                raise UnknownTask(f"task_id={task_id!r} is not in this split ({len(self.task_ids)} tasks).{hint}")
        observation, info = self._start(task_id)
        self._task_id, self._done = task_id, False
        self._transcript = [observation]
        info = {"task_id": task_id, "feedback": Feedback(), **info}
        return observation, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Answer one action; reward and feedback follow the subclass's Rewards section."""
        if self._done:
            raise ResetNeeded(f"{type(self).__name__}.step() called {'before reset()' if self._task_id is None else 'after the episode ended'}; call env.reset() first.")
        if not isinstance(action, str):
            raise TypeError(f"Actions are text: expected str, got {type(action).__name__}.")
        observation, reward, terminated, feedback, info = self._act(action)
        self._done = terminated
        self._transcript += [f"> {action}", observation]
        info = {"task_id": self._task_id, "feedback": feedback, **info}
        return observation, float(reward), terminated, False, info

    def render(self) -> str | None:
        """`ansi`: the transcript so far (observations, and actions prefixed with `> `)."""
        if self.render_mode == "ansi":
            return "\n".join(self._transcript)
        return None

    def _task_id_set(self) -> set[str]:
        cached = getattr(self, "_task_id_cache", None)
        if cached is None or len(cached) != len(self.task_ids):
            cached = {str(t) for t in self.task_ids}
            self._task_id_cache = cached
        return cached
