"""Trajectory records: one JSON line per episode, written the moment it ends.

A record says everything training and the report need (DESIGN §3): env id, task id, the steps
(model text, action, observation, reward), feedback, success, score, origin (`sampled`,
`repaired`, `expert`), parent id for repairs, model and adapter, seed and config hash. Records are
appended and flushed one by one, so a killed run loses at most the episodes in flight, and each has
a `key` that names the work it did, so a re-run skips what is already on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Origin = Literal["sampled", "repaired", "expert"]


@dataclass
class StepRecord:
    """One turn: what the model wrote, the action parsed from it, and what the env answered."""

    model_text: str
    action: str
    observation: str
    reward: float = 0.0


@dataclass
class Trajectory:
    """One episode of one task.

    Attributes:
        key: What work this record is (origin/task/sample[/parent]); unique in a records file.
        env_id, task_id: Which env and task.
        observation: The first observation (the task as the agent saw it).
        steps: The turns, in order.
        feedback: The final `Feedback` as a dict (success, score, message, privileged, details).
        success, score: Copied from the feedback for easy filtering (success False on errors).
        origin: `sampled` (agent), `repaired` (reflector's new attempt), `expert`.
        parent: Key of the failed trajectory a repair started from.
        reflection: The reflector's reflection text (repairs only).
        sample_index: Which of the k samples of this task.
        model, adapter, template: Who acted.
        seed: Seed of the episode's reset and sampling.
        config_hash: Hash of the settings that produced it.
        truncated: The env's step limit ended the episode.
        error: Set when the episode broke: {"where": "backend"|"env"|"sandbox", "type": ..., "message": ...}.
    """

    key: str
    env_id: str
    task_id: str
    observation: str
    steps: list[StepRecord] = field(default_factory=list)
    feedback: dict[str, Any] = field(default_factory=dict)
    success: bool = False
    score: float = 0.0
    origin: Origin = "sampled"
    parent: str | None = None
    reflection: str | None = None
    sample_index: int = 0
    model: str = ""
    adapter: str | None = None
    template: str = ""
    seed: int | None = None
    config_hash: str = ""
    truncated: bool = False
    error: dict[str, str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Trajectory":
        data = dict(data)
        data["steps"] = [StepRecord(**s) for s in data.get("steps", [])]
        return cls(**data)


def config_hash(config: Any) -> str:
    """Short stable hash of a JSON-able config (dataclasses are converted)."""
    if hasattr(config, "__dataclass_fields__"):
        config = asdict(config)
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def read_records(path: str | os.PathLike[str]) -> list[Trajectory]:
    """All complete records of a JSONL file (a half-written last line from a kill is ignored)."""
    return list(iter_records(path))


def iter_records(path: str | os.PathLike[str]) -> Iterator[Trajectory]:
    path = Path(path)
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # torn final line of a killed run: that episode is redone
            try:
                yield Trajectory.from_dict(json.loads(line))
            except (ValueError, TypeError):
                continue


class RecordWriter:
    """Appends trajectories to a JSONL file, one flushed line each; knows which keys are done."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self.done: set[str] = {t.key for t in iter_records(self.path)}
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        """Drop a half-written last line left by a kill, so the next append starts on a fresh line."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as f:
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, trajectory: Trajectory) -> None:
        with self._lock:
            if trajectory.key in self.done:
                return
            self._file.write(trajectory.to_json() + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self.done.add(trajectory.key)

    def write_all(self, trajectories: Iterable[Trajectory]) -> None:
        for t in trajectories:
            self.write(t)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
