"""Every task's harness script (`scripts/<task>.py`) runs to the end on a tiny preset, as a user runs
it: a subprocess with `--set` overrides (2 training tasks x k=2, 2 test tasks, short turns and
episodes, 1 training step), the embedded gemma-3-270m on CPU. ~1.5-3 min each on the idle 2-core
machine; a 270M model rarely passes a task in 4 samples, so training is usually skipped here for
want of data (training itself is tested in tests/agents/train and test_pipeline.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TINY = ["sample.num_tasks=2", "sample.k=2", "eval.num_tasks=2", "reflect.reflection_tokens=16", "train.max_steps=1"]
#: script -> (env id, its own overrides: short turns, few steps)
TASKS = {
    "layout": ("rerest/Layout-v0", ["sample.max_tokens=16", "eval.max_tokens=16"]),
    "mbpp": ("rerest/MBPP-v0", ["sample.max_tokens=32", "eval.max_tokens=32"]),
    "hotpotqa": ("rerest/HotpotQA-v0", ["sample.max_tokens=24", "eval.max_tokens=24", "train_env_kwargs.max_episode_steps=2",
                                        "test_env_kwargs.max_episode_steps=2"]),
    "alfworld": ("rerest/ALFWorld-v0", ["sample.max_tokens=16", "eval.max_tokens=16", "train_env_kwargs.max_episode_steps=2",
                                        "test_env_kwargs.max_episode_steps=2"]),
    "gqa": ("rerest/GQA-v0", ["sample.max_tokens=48", "eval.max_tokens=48"]),
}


def script_argv(task: str, run_dir: Path) -> list[str]:
    argv = [sys.executable, str(REPO / "scripts" / f"{task}.py"), "--run-dir", str(run_dir)]
    for item in TINY + TASKS[task][1]:
        argv += ["--set", item]
    return argv


def check_run(task: str, run_dir: Path, stdout: str) -> None:
    """What a finished tiny run must show: the closing table, the report, every stage finished, and
    the records the preset asked for (2 x 2 samples, repair tries per failure, 2 test episodes per variant)."""
    env_id = TASKS[task][0]
    assert f"Test-set success of {env_id}" in stdout, stdout[-3000:]
    assert "|D_M| = " in stdout and "Report: " in stdout
    assert (run_dir / "report.html").stat().st_size > 1000
    stages = json.loads((run_dir / "stages.json").read_text())
    unfinished = {name: s for name, s in stages.items() if s["status"] not in ("done", "skipped")}
    assert not unfinished, unfinished
    assert all(s.get("note") for s in stages.values() if s["status"] == "skipped")  # a skip says why

    def records(name: str) -> list[dict]:
        return [json.loads(line) for line in (run_dir / "records" / f"{name}.jsonl").read_text().splitlines()]

    sampled = records("sampled")
    assert len(sampled) == 4 and len({r["task_id"] for r in sampled}) == 2
    assert all(r["env_id"] == env_id for r in sampled)
    assert sum(r["error"] is not None for r in sampled) == 0, [r["error"] for r in sampled]  # no env/sandbox crash
    # each failure gets tries until its first verified repair, at most `reflect.attempts` of them
    attempts = yaml.safe_load((run_dir / "config.yaml").read_text())["reflect"]["attempts"]
    failed = {r["key"] for r in sampled if not r["success"]}
    tries: dict[str, list[dict]] = {}
    for r in records("repaired"):
        tries.setdefault(r["parent"], []).append(r)
    assert set(tries) == failed
    for parent, played in tries.items():
        assert 1 <= len(played) <= attempts, (parent, len(played))
        assert len(played) == attempts or played[-1]["success"], parent  # stopped early only on a success
    for variant in ("base", "selftrain", "rerest"):
        evaluated = records(f"eval-{variant}")
        assert len(evaluated) == 2 and all(r["error"] is None for r in evaluated), variant
        if stages.get(f"train_agent_{variant}", {}).get("status") == "skipped":  # untrained: base's greedy episodes, not replayed
            assert "copied" in stages[f"eval_{variant}"]["note"] and evaluated == records("eval-base"), variant


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_task_script_runs_to_the_end(task: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    out = subprocess.run(script_argv(task, run_dir), capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    print(f"\nscripts/{task}.py (tiny preset): {time.perf_counter() - start:.0f} s")
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    check_run(task, run_dir, out.stdout)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_task_script_dry_run(task: str) -> None:
    """The script passes --dry-run on: the same preset and overrides plan without a model."""
    out = subprocess.run(script_argv(task, Path("/nonexistent/run")) + ["--dry-run"], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "sample " in out.stdout and " 4 " in out.stdout.split("sample ", 1)[1].splitlines()[0]  # 2 tasks x k=2
