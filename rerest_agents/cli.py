"""The `rerest` command line: one typer command per pipeline verb.

    rerest report RUN_DIR [--open]     write RUN_DIR/report.html
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Re-ReST: reflection-reinforced self-training for language agents.", no_args_is_help=True,
                  add_completion=False)


@app.callback()
def main() -> None:
    """Re-ReST: reflection-reinforced self-training for language agents."""


# -- run ----------------------------------------------------------------------------------------------
# `rerest run CONFIG.yaml` goes here (the pipeline command).


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


if __name__ == "__main__":
    app()
