"""Judging one answer of a text env: the observation, reward, flags, `info` and `Feedback` of a step.

`step_problems` is public: tests of a single env call it on each step they make.
"""

from __future__ import annotations

import json
import math
from typing import Any

import gymnasium
import numpy as np

from rerest_envs.core.feedback import Feedback


def observation_problems(env: gymnasium.Env, obs: Any) -> list[str]:
    """What is wrong with an observation: not a `str`, outside `env.observation_space`, not valid UTF-8."""
    if not isinstance(obs, str):
        return [f"the observation is a {type(obs).__name__}, not a str"]
    problems = []
    if not env.observation_space.contains(obs):
        problems.append(f"the observation ({len(obs):,} characters) is outside {env.observation_space}")
    if (bad := _utf8_problem(obs)) is not None:
        problems.append(f"the observation is not valid UTF-8 ({bad})")
    return problems


def step_problems(env: gymnasium.Env, result: Any, require_feedback: bool = True) -> list[str]:
    """What is wrong with one `env.step` result, one phrase each (empty: nothing).

    The observation must be a `str` inside `env.observation_space` and valid UTF-8, the reward a finite
    number, the end flags bools, `info` a dict whose strings are valid UTF-8, and `info["feedback"]`
    (required when `require_feedback`) a `Feedback` or dict that survives its JSON round trip.
    """
    if not isinstance(result, tuple) or len(result) != 5:
        return [f"step returned {type(result).__name__} of length {len(result) if isinstance(result, tuple) else '?'}, "
                "expected (observation, reward, terminated, truncated, info)"]
    obs, reward, terminated, truncated, info = result
    problems = observation_problems(env, obs)
    if not isinstance(reward, (int, float, np.number)) or isinstance(reward, bool) or not math.isfinite(float(reward)):
        problems.append(f"the reward {reward!r} is not a finite number")
    for name, flag in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(flag, (bool, np.bool_)):
            problems.append(f"{name} is a {type(flag).__name__}, not a bool")
    if not isinstance(info, dict):
        return problems + [f"info is a {type(info).__name__}, not a dict"]
    for key, value in info.items():
        if isinstance(value, str) and (bad := _utf8_problem(value)) is not None:
            problems.append(f"info[{key!r}] is not valid UTF-8 ({bad})")
    if (bad := _feedback_problem(info, require_feedback)) is not None:
        problems.append(bad)
    return problems


def _feedback_problem(info: dict[str, Any], required: bool) -> str | None:
    feedback = info.get("feedback")
    if feedback is None:
        return "info has no 'feedback'" if required else None
    try:
        if isinstance(feedback, Feedback):
            text = feedback.to_json()
            same = Feedback.from_json(text) == feedback
        elif isinstance(feedback, dict):
            text = json.dumps(feedback, ensure_ascii=False, sort_keys=True)
            same = json.loads(text) == feedback
        else:
            return f"info['feedback'] is a {type(feedback).__name__}, expected rerest_envs.Feedback or a dict"
    except (TypeError, ValueError) as exc:
        return f"info['feedback'] is not JSON: {type(exc).__name__}: {str(exc)[:200]}"
    if (bad := _utf8_problem(text)) is not None:
        return f"info['feedback'] JSON is not valid UTF-8 ({bad})"
    if not same:
        return "info['feedback'] changes in its JSON round trip (details hold tuples, non-str keys or NaN?)"
    return None


def feedback_key(info: Any) -> tuple[Any, ...] | None:
    """The parts of `info["feedback"]` a replay must repeat: success, score, message, privileged (not
    `details`, which may hold timings)."""
    feedback = info.get("feedback") if isinstance(info, dict) else None
    if isinstance(feedback, Feedback):
        feedback = feedback.to_dict()
    if not isinstance(feedback, dict):
        return None
    return tuple(feedback.get(k) for k in ("success", "score", "message", "privileged"))


def _utf8_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{text[exc.start]!r} at index {exc.start:,}: {exc.reason}"
    return None
