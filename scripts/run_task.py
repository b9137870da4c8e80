"""Shared body of the per-task scripts: pick a preset, apply overrides, run Re-ReST (or `--dry-run`: its plan), print results."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def main(task: str, doc: str) -> None:
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--preset", choices=["cpu", "paper"], default="cpu", help="cpu: finishes on a laptop; paper: the paper's settings (GPU)")
    parser.add_argument("--run-dir", default=None, help="where the run writes (default: runs/<env>-<hash>)")
    parser.add_argument("--set", action="append", default=[], help="override, e.g. --set sample.k=8")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (tasks, episodes, tokens, adapters, GPU-hours); load no model")
    args = parser.parse_args()
    argv = [sys.executable, "-m", "rerest_agents.cli", "run", str(CONFIGS / f"{task}-{args.preset}.yaml")]
    if args.run_dir:
        argv += ["--run-dir", args.run_dir]
    for item in args.set:
        argv += ["--set", item]
    if args.dry_run:
        argv.append("--dry-run")
    raise SystemExit(subprocess.call(argv))
