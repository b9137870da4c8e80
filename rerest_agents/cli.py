"""The `rerest` command line: one typer command per pipeline verb.

    rerest run [CONFIG.yaml] [--run-dir DIR] [--set section.key=value ...] [--executor ray]   a whole Re-ReST run
    rerest report RUN_DIR [--open]     write RUN_DIR/report.html
    rerest doctor                      what this machine has and lacks for rerest (exit 1: the main job cannot run)
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rerest_agents.pipeline import RunConfig, RunResult

#: Below this many agent training examples the CLI warns that the comparison is mostly noise.
FEW_EXAMPLES = 32

app = typer.Typer(help="Re-ReST: reflection-reinforced self-training for language agents.", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def main() -> None:
    """Re-ReST: reflection-reinforced self-training for language agents."""


# -- run ----------------------------------------------------------------------------------------------
def _parse_value(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


def results_table(result: RunResult, untrained: Collection[str] = ()) -> list[str]:
    """The closing table of `rerest run`: per variant success and score with 95% intervals, then the
    paired differences of success on the same test tasks, each with its bootstrap interval and verdict."""
    from rerest_agents.report.load import COMPARISONS, VARIANT_NAMES

    lines = [f"  {'variant':<12}{'success [95% CI] (n)':<32}score [95% CI]"]
    for variant in result.task_success:
        note = "  (not trained: no training data; untrained model)" if variant in untrained else ""
        score = result.score_interval(variant)
        lines.append(f"  {variant:<12}{result.interval(variant).text():<32}"
                     f"{f'{score.estimate:.3f} [{score.low:.3f}, {score.high:.3f}]':<24}{note}".rstrip())
    pairs = [(t, c) for t, c in COMPARISONS if t in result.task_success and c in result.task_success]
    if pairs:
        lines.append("  Paired differences of success, same test tasks (bootstrap over tasks; noise = the interval contains 0):")
        for treatment, control in pairs:
            label = f"{VARIANT_NAMES[treatment]} - {VARIANT_NAMES[control]}"
            lines.append(f"    {label:<26}{result.difference(treatment, control).text()}")
    return lines


@app.command()
def run(config: Path = typer.Argument(None, help="YAML run config (default: the embedded CPU preset)."),
        run_dir: Path = typer.Option(None, "--run-dir", help="Where the run writes (default: runs/<env>-<config hash>)."),
        set_: list[str] = typer.Option([], "--set", help="Override a config value: section.key=value (repeatable)."),
        executor: str = typer.Option(None, "--executor", help="Where envs step: thread or ray (same as --set executor.kind=...)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Validate the config, build the envs, count the tasks and print "
                                     "the plan (stages, episodes, tokens, adapters, GPU-hours); loads no model, writes nothing.")) -> None:
    """Run Re-ReST: sample, reflect, train the reflector then the agent, evaluate, report. Resumable."""
    from rerest_agents.errors import RerestAgentError
    from rerest_agents.pipeline import Pipeline, load_config
    from rerest_agents.report import write_report
    from rerest_agents.rollout import config_hash

    try:
        overrides = {}
        for item in set_:
            if "=" not in item:
                raise typer.BadParameter(f"--set {item!r}: write section.key=value, e.g. --set sample.k=8")
            key, value = item.split("=", 1)
            overrides[key] = _parse_value(value)
        if executor is not None:
            overrides["executor.kind"] = executor
        cfg = load_config(config, overrides)
        if run_dir is None:
            run_dir = Path("runs") / f"{cfg.env_id.split('/')[-1].lower()}-{config_hash(cfg.results_dict())}"
        if dry_run:
            _dry_run(cfg, config, run_dir)
            return
        result = Pipeline(cfg, run_dir, progress=not quiet).run()
    except RerestAgentError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    report_path = write_report(run_dir)
    import json

    stages = json.loads((Path(run_dir) / "stages.json").read_text())
    untrained = {v for v, stage in (("selftrain", "train_agent_selftrain"), ("rerest", "train_agent_rerest"), ("dpo", "train_agent_dpo"))
                 if stages.get(stage, {}).get("status") == "skipped"}
    typer.echo(f"\nTest-set success of {cfg.env_id} (greedy, agent alone; 95% intervals):")
    for line in results_table(result, untrained):
        typer.echo(line)
    d_m, d_mr = result.sizes.get("agent_dm", 0), result.sizes.get("agent_dmdr", 0)
    typer.echo(f"  |D_M| = {d_m}, |D_R| = {d_mr - d_m} (training examples: passing samples, verified repairs)")
    if d_mr < FEW_EXAMPLES:
        typer.echo(f"  Note: under {FEW_EXAMPLES} training examples, differences between the variants are mostly noise; "
                   "more tasks or samples (--set sample.num_tasks=64 --set sample.k=8) or a stronger model give more.")
    typer.echo(f"Report: {report_path}")


def _dry_run(cfg: RunConfig, config: Path | None, run_dir: Path) -> None:
    """Print the plan of a run (`rerest_agents.pipeline.plan`), and what a run directory already holds."""
    import json

    from rerest_agents.pipeline.plan import plan, render

    for line in render(plan(cfg), str(config) if config else ""):
        typer.echo(line)
    stages = Path(run_dir) / "stages.json"
    done = [name for name, s in json.loads(stages.read_text()).items() if s.get("status") in ("done", "skipped")] if stages.is_file() else []
    typer.echo(f"Run directory: {run_dir}" + (f" (resumes: {len(done)} stages already done)" if done else " (new)"))


# -- report -------------------------------------------------------------------------------------------
@app.command()
def report(run_dir: Path = typer.Argument(..., help="Run directory written by `rerest run`."),
           open_: bool = typer.Option(False, "--open", help="Open the page in the default browser.")) -> None:
    """Write RUN_DIR/report.html: one self-contained page (config, timings, D_M/D_R, success, examples)."""
    from rerest_agents.report import write_report

    if not run_dir.is_dir():
        typer.echo(f"error: run directory {str(run_dir)!r} does not exist; pass the folder that `rerest run` wrote.", err=True)
        raise typer.Exit(2)
    path = write_report(run_dir)
    typer.echo(str(path))
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


# -- doctor -------------------------------------------------------------------------------------------
@app.command()
def doctor() -> None:
    """Say what this machine has and lacks for rerest; exit 1 (listing what is missing) when `rerest run` cannot run."""
    from rerest_agents.doctor import can_run, diagnose, render

    checks = diagnose()
    typer.echo(render(checks, header="rerest doctor: what this machine has for rerest"))
    raise typer.Exit(0 if can_run(checks) else 1)


if __name__ == "__main__":
    app()
