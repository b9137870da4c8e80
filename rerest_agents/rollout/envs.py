"""Making envs by id, and reading their feedback, through the gymnasium API only.

The harness never imports an env class: `gymnasium.make(env_id)` builds it, so env ids that users
register run the same way ours do. `rerest/...` ids are registered by importing `rerest_envs`,
which happens here on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium


def make_env(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """`gymnasium.make(env_id, **kwargs)`, importing `rerest_envs` first for `rerest/` ids."""
    if env_id.startswith("rerest/") and env_id not in gymnasium.registry:
        importlib.import_module("rerest_envs")
    return gymnasium.make(env_id, **kwargs)


def feedback_dict(info: dict[str, Any], reward: float, terminated: bool) -> dict[str, Any]:
    """The episode's feedback as a plain dict, whatever the env put in `info["feedback"]`.

    rerest envs give a `Feedback` dataclass; other envs may give a dict or nothing, in which case
    success means a positive reward on termination (the usual convention for text games).
    """
    raw = info.get("feedback")
    if hasattr(raw, "to_dict"):
        data = raw.to_dict()
    elif isinstance(raw, dict):
        data = dict(raw)
    else:
        data = {}
    if data.get("success") is None:
        data["success"] = bool(terminated and reward > 0)
    data.setdefault("score", float(max(0.0, min(1.0, reward))))
    data.setdefault("message", "")
    data.setdefault("privileged", "")
    data.setdefault("details", {})
    return data
