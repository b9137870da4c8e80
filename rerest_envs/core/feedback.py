"""The `Feedback` record every rerest env puts in `info["feedback"]`.

Re-ReST lives on textual feedback: the reflector repairs a failed attempt from what the environment
said about it. `message` is what the agent may see; `privileged` (gold answers, hidden tests,
reference solutions) is for reflectors and evaluators only and never appears in an observation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Feedback:
    """What the environment says about an attempt.

    Attributes:
        success: True/False once the episode has ended, None while it is still running.
        score: Fraction of the task achieved, in [0, 1] (e.g. the fraction of unit tests passed).
        message: Plain-words explanation the agent may read (failed tests, wrong counts, ...).
        privileged: Reflector/evaluator-only text (gold answer, hidden tests, reference solution).
        details: Structured evidence keyed by check name (per-test results, program trace, ...);
            must hold JSON-serialisable values only. One key has a meaning across envs:
            `details["canonical_action"]` (optional) is the scored action as the env read it, written
            in the env's own grammar, so that it scores as the raw action did; a trainer may learn it
            instead of the raw text (`train.canonical_actions` in rerest_agents).
    """

    success: bool | None = None
    score: float = 0.0
    message: str = ""
    privileged: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.score) <= 1.0:
            raise ValueError(f"Feedback.score must lie in [0, 1], got {self.score!r}.")
        if self.success is not None and not isinstance(self.success, bool):
            raise TypeError(f"Feedback.success must be a bool or None, got {self.success!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, ready for `json.dumps`."""
        return asdict(self)

    def to_json(self) -> str:
        """One JSON object; `Feedback.from_json(fb.to_json()) == fb` holds for every Feedback."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Feedback":
        """Inverse of `to_dict`; unknown keys are an error so that typos do not vanish silently."""
        unknown = set(data) - {"success", "score", "message", "privileged", "details"}
        if unknown:
            raise ValueError(f"Unknown Feedback field(s) {sorted(unknown)}; expected success, score, message, privileged, details.")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "Feedback":
        """Inverse of `to_json`."""
        return cls.from_dict(json.loads(text))
