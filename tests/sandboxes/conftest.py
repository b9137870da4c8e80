"""Fixtures for sandbox tests: one `sandbox` per backend, and a check that nothing is left behind."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from sandboxes import make_sandbox
from sandboxes.process import job_uid

#: uid of the docker image's default CMD (the backend itself gives each container its own uid).
DOCKER_JOB_UID = 65000


def docker_ready() -> bool:
    """True when a dockerd answers; with RERST_REQUIRE_DOCKER=1, fail loudly instead of skipping."""
    try:
        from sandboxes.docker import docker_available
    except ImportError:
        available = False
    else:
        available = docker_available()
    if not available and os.environ.get("RERST_REQUIRE_DOCKER") == "1":
        pytest.fail("RERST_REQUIRE_DOCKER=1 but no dockerd answers: run `bash dev/dockerd.sh start` first.")
    return available


def job_processes() -> list[psutil.Process]:
    """Processes running under a sandbox job uid (there should be none between runs)."""
    lo, hi = job_uid(0), job_uid(63)
    try:
        from sandboxes.docker.backend import job_uids
        docker_uids = job_uids()
    except ImportError:
        docker_uids = range(0)
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        try:
            uid = proc.info["uids"].real
        except (psutil.Error, AttributeError):
            continue
        if (lo <= uid <= hi or uid in docker_uids or uid == DOCKER_JOB_UID) and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def wait_no_job_processes(seconds: float = 3.0) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = job_processes()
        if not left:
            return []
        time.sleep(0.05)
    return job_processes()


BACKENDS = ["process", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request):
    """A warm sandbox of each backend, shared by the tests of one module."""
    if request.param == "docker" and not docker_ready():
        pytest.skip("no dockerd running (bash dev/dockerd.sh start)")
    box = make_sandbox(request.param, workers=2)
    box.warm_up()
    yield box
    box.close()
