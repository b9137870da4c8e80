"""The run directory: where every stage writes, and the ledger that makes a run resumable.

Layout (read by `rerest report` too)::

    RUN_DIR/config.yaml            resolved config, written before anything else
    RUN_DIR/stages.json            {stage: {status, started, finished, seconds}}
    RUN_DIR/records/*.jsonl        trajectories (sampled, repaired, eval-<variant>)
    RUN_DIR/data/*.jsonl           training sets
    RUN_DIR/adapters/<name>/       LoRA adapters
    RUN_DIR/metrics.jsonl          one namespaced metric per line

A stage marked `done` is skipped on re-run; a stage killed midway runs again, and its own
outputs (records keyed per episode, checkpointed training) make the redo cheap and duplicate-free.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class RunDir:
    """Paths and the stage ledger of one run."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in ("records", "data", "adapters"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.stages_path = self.root / "stages.json"
        self.stages: dict[str, dict[str, Any]] = json.loads(self.stages_path.read_text()) if self.stages_path.exists() else {}

    def records(self, name: str) -> Path:
        return self.root / "records" / f"{name}.jsonl"

    def data(self, name: str) -> Path:
        return self.root / "data" / f"{name}.jsonl"

    def adapter(self, name: str) -> Path:
        return self.root / "adapters" / name

    # -- ledger -------------------------------------------------------------------------------------
    def done(self, stage: str) -> bool:
        return self.stages.get(stage, {}).get("status") in ("done", "skipped")

    def start(self, stage: str) -> float:
        self.stages[stage] = {"status": "running", "started": _now()}
        _write_json_atomic(self.stages_path, self.stages)
        return time.monotonic()

    def finish(self, stage: str, started: float, *, status: str = "done", note: str = "") -> None:
        entry = self.stages.get(stage, {})
        entry.update(status=status, finished=_now(), seconds=round(time.monotonic() - started, 2))
        if note:
            entry["note"] = note
        self.stages[stage] = entry
        _write_json_atomic(self.stages_path, self.stages)

    def metric(self, name: str, value: float, *, stage: str, round: int, **extra: Any) -> None:
        """Append one metric line (namespaced name, e.g. `eval/success_rate`)."""
        line = {"name": name, "value": value, "stage": stage, "round": round, **extra}
        with (self.root / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
