"""dev/gpu_check.sh without a GPU: it stops at once, says why, exits 2, and installs nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "dev" / "gpu_check.sh"


def _run(tmp_path: Path, path: str) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PATH": path, "VENV": str(tmp_path / "venv"), "WORK": str(tmp_path / "work")}
    start = time.perf_counter()
    out = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    return out, time.perf_counter() - start


def _path_without_nvidia_smi(tmp_path: Path) -> str:
    """PATH with bash and coreutils but no nvidia-smi (this machine has none; a GPU machine might)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("bash", "dirname", "timeout", "grep", "head", "tail", "mkdir", "cat", "rm", "printf"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_no_nvidia_smi_fails_fast_and_clearly(tmp_path: Path) -> None:
    out, seconds = _run(tmp_path, _path_without_nvidia_smi(tmp_path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "FAIL: no CUDA GPU here (nvidia-smi is not on PATH)" in out.stdout
    assert "gpu_check summary" in out.stdout
    assert seconds < 10
    assert not (tmp_path / "venv").exists()  # nothing installed


def test_broken_driver_fails_fast_and_names_it(tmp_path: Path) -> None:
    path = _path_without_nvidia_smi(tmp_path)
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n")
    fake.chmod(0o755)
    out, seconds = _run(tmp_path, path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "no CUDA GPU here (nvidia-smi -L: NVIDIA-SMI has failed" in out.stdout
    assert seconds < 10 and not (tmp_path / "venv").exists()


def test_script_is_valid_bash_and_shellcheck_clean() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    out = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
