"""Reading a run directory into plain numbers for the report, whatever stages have run so far.

The layout of a run directory (written by the pipeline, `rerest run`):

    config.yaml                      resolved config
    stages.json                      {"<stage>[-r<round>]": {"status", "started", "finished", "seconds", "note"?}}
    records/sampled[-rN].jsonl       the agent's samples of round N (round 1 has no suffix)
    records/repaired[-rN].jsonl      the reflector's repairs (parent = key of a failed sample)
    records/eval-<variant>[-rN].jsonl  test-split episodes; variant in base, selftrain, rerest, dpo
    data/*.jsonl                     training sets (agent_dm, agent_dmdr, reflector, dpo)
    metrics.jsonl                    {"name", "value", "variant"?, "round"?, "stage"?, "step"?} per line
    adapters/<name>/                 LoRA adapters

Every reader here tolerates what a killed run leaves: a missing file is "not run yet", a torn last
line is skipped, a malformed line is counted in `RunData.problems` instead of raising.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerest_agents.rollout.records import Trajectory, read_records

#: The pipeline's stages in order; `-r<round>` is appended for rounds > 1.
STAGES = ("sample", "reflect", "build_data", "train_reflector", "reflect_trained", "train_agent_selftrain", "train_agent_rerest",
          "train_agent_dpo", "eval_base", "eval_selftrain", "eval_rerest", "eval_dpo")
#: Stages a run may leave out by configuration.
OPTIONAL_STAGES = frozenset({"reflect_trained", "train_agent_dpo", "eval_dpo"})
#: Evaluation variants, in the order of the paper's tables.
VARIANTS = ("base", "selftrain", "rerest", "dpo")
VARIANT_LABELS = {"base": "base model", "selftrain": "self-training (D_M)", "rerest": "Re-ReST (D_M + D_R)", "dpo": "DPO"}
#: Short names of the variants, for differences ("Re-ReST - self-training").
VARIANT_NAMES = {"base": "base", "selftrain": "self-training", "rerest": "Re-ReST", "dpo": "DPO"}
#: The paired comparisons a run shows, (treatment, control): what self-training adds, what reflection
#: adds on top of it, both together, and DPO against plain self-training.
COMPARISONS = (("selftrain", "base"), ("rerest", "selftrain"), ("rerest", "base"), ("dpo", "selftrain"))

#: Metric name -> one-line definition (STYLE habit 14); the report's "Logged metrics" section.
METRIC_DEFINITIONS = {
    "sample/success_rate": "Share of the agent's sampled training episodes (k per task) that the env scored a success.",
    "reflect/repair_rate": "Verified repairs divided by failed samples: how often the reflector's new attempt succeeded in the env.",
    "reflect/verified_repairs": "Number of repaired attempts that the env re-played and scored a success (the size of D_R before export).",
    "data/dm_size": "Records in D_M: the agent's own successful samples, exported for SFT.",
    "data/dr_size": "Records in D_R: verified repairs, exported with the plain agent prompt (no reflection shown).",
    "train/loss": "Training loss of a LoRA stage (SFT: mean token cross-entropy on the model's own tokens; DPO: the DPO loss).",
    "eval/success_rate": ("Share of test-split episodes the variant solved (greedy decoding, the agent alone, no reflector); "
                          "ci_low/ci_high: its Wilson 95% interval over the n episodes."),
    "eval/score": ("Mean env score of the variant on the test split, in [0, 1] (e.g. fraction of requirements met); "
                   "ci_low/ci_high: its bootstrap 95% interval over the n tasks."),
}

_RECORDS_FILE = re.compile(r"^(?P<kind>sampled|repaired|eval-(?P<variant>[A-Za-z0-9_]+?))(?:-r(?P<round>\d+))?\.jsonl$")
_STAGE_NAME = re.compile(r"^(?P<stage>.+?)(?:-r(?P<round>\d+))?$")
#: The group of tasks whose ids say nothing about their kind.
ALL_TASKS = "all tasks"
_GROUP_NAME = re.compile(r"[A-Za-z][A-Za-z_\- /.]*")
_TRAILING_ID = re.compile(r"[-_/.:]?\d+$")
_SPLIT_WORDS = re.compile(r"[-_](?:train|test|val|valid|dev)$")


@dataclass
class Stage:
    """One row of stages.json (or a stage that has no row yet: status `missing`)."""

    name: str
    base: str
    round: int
    status: str = "missing"
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    optional: bool = False
    #: Why the stage was skipped, or other words the pipeline wrote with it.
    note: str | None = None


@dataclass
class RunData:
    """Everything the report shows, read once from a run directory."""

    run_dir: Path
    config_text: str | None = None
    config: dict[str, Any] | None = None
    stages: list[Stage] = field(default_factory=list)
    #: round -> records of that round.
    sampled: dict[int, list[Trajectory]] = field(default_factory=dict)
    repaired: dict[int, list[Trajectory]] = field(default_factory=dict)
    #: (variant, round) -> evaluation episodes.
    evals: dict[tuple[str, int], list[Trajectory]] = field(default_factory=dict)
    #: records/*.jsonl files that match none of the names above: name -> records.
    other_records: dict[str, list[Trajectory]] = field(default_factory=dict)
    #: data/<name>.jsonl -> number of records.
    data_sizes: dict[str, int] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)
    #: Lines or files that could not be read, in words.
    problems: list[str] = field(default_factory=list)

    @property
    def rounds(self) -> list[int]:
        found = set(self.sampled) | set(self.repaired) | {r for _, r in self.evals} | {s.round for s in self.stages if s.status != "missing"}
        found |= {int(m["round"]) for m in self.metrics if isinstance(m.get("round"), int)}
        return sorted(found) or [1]

    @property
    def env_id(self) -> str | None:
        for group in (*self.sampled.values(), *self.evals.values(), *self.repaired.values(), *self.other_records.values()):
            for t in group:
                return t.env_id
        if self.config:
            found = find_key(self.config, "env_id")
            return str(found) if found else None
        return None

    @property
    def all_records(self) -> list[Trajectory]:
        out: list[Trajectory] = []
        for group in (*self.sampled.values(), *self.repaired.values(), *self.evals.values(), *self.other_records.values()):
            out.extend(group)
        return out

    def metric(self, name: str, *, variant: str | None = None, round: int | None = None) -> float | None:
        """Last logged value of a metric (filtered by variant and round when given), or None."""
        entry = self.metric_entry(name, variant=variant, round=round)
        return float(entry["value"]) if entry else None

    def metric_entry(self, name: str, *, variant: str | None = None, round: int | None = None) -> dict[str, Any] | None:
        """The last logged line of a metric with a numeric value (e.g. with `ci_low`, `ci_high`, `n`), or None."""
        found = None
        for m in self.metrics:
            if m.get("name") != name or (variant is not None and m.get("variant") != variant):
                continue
            if round is not None and int(m.get("round") or 1) != round:
                continue
            if isinstance(m.get("value"), (int, float)):
                found = m
        return found


def find_key(tree: Any, key: str) -> Any:
    """The first value under `key` anywhere in a nested dict (depth-first), or None."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            found = find_key(value, key)
            if found is not None:
                return found
    return None


def load_run(run_dir: str | Path) -> RunData:
    """Read everything a run directory holds so far (see the module docstring)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"Run directory {str(run_dir)!r} does not exist; pass the folder that `rerest run` wrote.")
    data = RunData(run_dir=run_dir)
    _load_config(data)
    _load_stages(data)
    _load_records(data)
    _load_data_sizes(data)
    _load_metrics(data)
    adapters = run_dir / "adapters"
    data.adapters = sorted(p.name for p in adapters.iterdir() if p.is_dir()) if adapters.is_dir() else []
    return data


def _load_config(data: RunData) -> None:
    path = data.run_dir / "config.yaml"
    if not path.exists():
        return
    data.config_text = path.read_text(encoding="utf-8", errors="replace")
    try:
        import yaml

        loaded = yaml.safe_load(data.config_text)
        data.config = loaded if isinstance(loaded, dict) else None
    except Exception as e:  # noqa: BLE001 - a bad config is shown as text, not a crash
        data.problems.append(f"config.yaml is not valid YAML ({type(e).__name__}); shown as text.")


def _load_stages(data: RunData) -> None:
    raw: dict[str, Any] = {}
    path = data.run_dir / "stages.json"
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            raw = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data.problems.append("stages.json could not be read (half-written?); stage timings are missing.")
    rows: dict[str, Stage] = {}
    for name, entry in raw.items():
        m = _STAGE_NAME.match(name)
        assert m is not None
        entry = entry if isinstance(entry, dict) else {}
        seconds = entry.get("seconds")
        rows[name] = Stage(name=name, base=m["stage"], round=int(m["round"] or 1), status=str(entry.get("status", "pending")),
                           started=entry.get("started"), finished=entry.get("finished"),
                           seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
                           optional=m["stage"] in OPTIONAL_STAGES, note=str(entry["note"]) if entry.get("note") else None)
    rounds = sorted({s.round for s in rows.values()} | {1})
    ordered: list[Stage] = []
    for r in rounds:
        for base in STAGES:
            name = base if r == 1 else f"{base}-r{r}"
            ordered.append(rows.pop(name, None) or Stage(name=name, base=base, round=r, optional=base in OPTIONAL_STAGES))
    ordered.extend(rows.values())  # stages this report does not know, in file order
    data.stages = ordered


def _load_records(data: RunData) -> None:
    folder = data.run_dir / "records"
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        records = read_records(path)
        m = _RECORDS_FILE.match(path.name)
        if m is None:
            data.other_records[path.name] = records
            continue
        rnd = int(m["round"] or 1)
        if m["kind"] == "sampled":
            data.sampled[rnd] = records
        elif m["kind"] == "repaired":
            data.repaired[rnd] = records
        else:
            data.evals[(m["variant"], rnd)] = records


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.endswith(b"\n") and line.strip())


def _load_data_sizes(data: RunData) -> None:
    folder = data.run_dir / "data"
    if folder.is_dir():
        data.data_sizes = {p.stem: _count_lines(p) for p in sorted(folder.glob("*.jsonl"))}


def _load_metrics(data: RunData) -> None:
    path = data.run_dir / "metrics.jsonl"
    if not path.exists():
        return
    bad = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.endswith("\n") or not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                data.metrics.append(entry)
            else:
                bad += 1
    if bad:
        data.problems.append(f"metrics.jsonl: {bad} line(s) could not be read and were skipped.")


# -- summaries ---------------------------------------------------------------------------------------
@dataclass
class Rate:
    """k successes out of n."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None


def success(records: Iterable[Trajectory]) -> Rate:
    records = list(records)
    return Rate(sum(t.success for t in records), len(records))


def repair_stats(sampled: Sequence[Trajectory], repaired: Sequence[Trajectory]) -> dict[str, int]:
    """Failed samples, repairs played, and verified repairs (repairs the env scored a success)."""
    failures = [t for t in sampled if not t.success]
    return {"failures": len(failures), "attempted": len(repaired), "verified": sum(t.success for t in repaired)}


def error_counts(records: Iterable[Trajectory]) -> dict[str, int]:
    """Broken episodes by where they broke (backend, env, sandbox): STYLE habit 15."""
    counts: dict[str, int] = defaultdict(int)
    for t in records:
        if t.error:
            counts[str(t.error.get("where", "unknown"))] += 1
    return dict(counts)


def task_group(trajectory: Trajectory) -> str:
    """The skill/type of a record's task: `skill`/`type`/`task_type`/`level` in the feedback details, else the task-id prefix.

    `gen-count-train-00003` -> `gen-count`, `count_val_000001` -> `count`, `HumanEval/12` -> `HumanEval`; an id
    that is a number or a hash (GQA's `11954861`, MBPP's `601`, HotpotQA's `5a8b57f2...`) has no group: `all tasks`.
    """
    details = (trajectory.feedback or {}).get("details") or {}
    for key in ("skill", "type", "task_type", "level"):
        if isinstance(details.get(key), str) and details[key]:
            return details[key]
    prefix = _TRAILING_ID.sub("", trajectory.task_id)
    prefix = _SPLIT_WORDS.sub("", prefix)
    # what is left of an id that is a number or a hash (GQA `11954861`, HotpotQA `5a8b57f25542995d1e6f1371`) names no group
    return prefix if _GROUP_NAME.fullmatch(prefix) else ALL_TASKS


def check_scores(trajectory: Trajectory) -> dict[str, tuple[float, int]]:
    """Per check name in `feedback.details`: (sum of scores, number of requirements checked).

    Two shapes are read: a list of `{"passed": bool, ...}` entries (Layout: one per requirement) and
    a `{"score": float, "weight": ...}` dict (HotpotQA, one per episode).
    """
    details = (trajectory.feedback or {}).get("details") or {}
    out: dict[str, tuple[float, int]] = {}
    for name, value in details.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) and "passed" in v for v in value):
            out[name] = (float(sum(bool(v["passed"]) for v in value)), len(value))
        elif isinstance(value, dict) and isinstance(value.get("score"), (int, float)) and "weight" in value:
            out[name] = (float(value["score"]), 1)
    return out


def group_rates(records: Sequence[Trajectory], key: Callable[[Trajectory], str]) -> dict[str, Rate]:
    groups: dict[str, list[Trajectory]] = defaultdict(list)
    for t in records:
        groups[key(t)].append(t)
    return {name: success(group) for name, group in groups.items()}


def check_rates(records: Sequence[Trajectory]) -> dict[str, tuple[float, int]]:
    total: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for t in records:
        for name, (s, n) in check_scores(t).items():
            total[name][0] += s
            total[name][1] += n
    return {name: (s, int(n)) for name, (s, n) in total.items()}
