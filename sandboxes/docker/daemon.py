"""Reaching the Docker daemon: `connect`, `docker_available`, and `cleanup_containers` for leftovers.

The docker SDK is imported inside the functions, so `import sandboxes.docker` works without it.
Every sandbox container carries labels that say who made it (see `owner_labels`), so containers
left behind by a process that died can be found and removed.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from sandboxes.errors import DependencyNotInstalled, SandboxUnavailable

#: Every container made by the docker sandbox has this label (value "1").
LABEL = "rerest.sandbox"
LABEL_OWNER_HOST = "rerest.owner_host"
LABEL_OWNER_PID = "rerest.owner_pid"
LABEL_OWNER_START = "rerest.owner_start"
LABEL_SANDBOX_ID = "rerest.sandbox_id"

INSTALL_HINT = 'pip install "rerest[docker]"'
START_HINT = ("start dockerd (`sudo bash dev/dockerd.sh start` in a rerest checkout, or `sudo systemctl start docker`) "
              "or set DOCKER_HOST to a daemon you can reach")


def import_docker() -> Any:
    """The docker SDK module, or `DependencyNotInstalled` with the pip line."""
    try:
        import docker
    except ImportError:
        raise DependencyNotInstalled(f"The docker sandbox needs the docker SDK: {INSTALL_HINT}") from None
    return docker


def _daemon_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(timeout: float = 60.0) -> Any:
    """A `docker.DockerClient` for the daemon of the environment (DOCKER_HOST, else the default socket).

    Raises `DependencyNotInstalled` without the SDK and `SandboxUnavailable` (one line, naming the
    fix) when no daemon answers within `timeout` seconds.
    """
    docker = import_docker()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # DockerException, requests' ConnectionError, PermissionError, ...
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if "Permission denied" in reason or isinstance(exc, PermissionError):
            reason += "; add your user to the docker group or run as root"
        raise SandboxUnavailable(f"Cannot reach the Docker daemon at {_daemon_address()} ({reason[:200]}): {START_HINT}.") from None
    return client


def docker_available(timeout: float = 2.0) -> bool:
    """True when the docker SDK is installed and a daemon answers a ping within `timeout` seconds."""
    try:
        client = connect(timeout=timeout)
    except Exception:
        return False
    client.close()
    return True


def _start_time(pid: int) -> str | None:
    """Start time of `pid` in clock ticks since boot (tells a live owner from a re-used pid)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()[19].decode()


def owner_labels() -> dict[str, str]:
    """Labels naming this process as a container's owner."""
    return {LABEL: "1", LABEL_OWNER_HOST: socket.gethostname(), LABEL_OWNER_PID: str(os.getpid()),
            LABEL_OWNER_START: _start_time(os.getpid()) or ""}


def _owner_alive(labels: dict[str, str]) -> bool:
    if labels.get(LABEL_OWNER_HOST) != socket.gethostname():
        return True  # another machine's container (a shared daemon): not ours to judge
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return False
    started = _start_time(pid)
    if started is None:
        return False
    recorded = labels.get(LABEL_OWNER_START) or started  # no start time recorded: the pid alone decides
    return started == recorded


def cleanup_containers(client: Any = None, *, everything: bool = False, sandbox_id: str | None = None) -> int:
    """Remove sandbox containers; return how many were removed.

    By default only leftovers: containers whose owning process (on this host) is gone.
    `sandbox_id`: only that sandbox's containers. `everything=True`: every rerest container.
    """
    docker = import_docker()
    client = client or connect()
    wanted = [f"{LABEL}=1"] + ([f"{LABEL_SANDBOX_ID}={sandbox_id}"] if sandbox_id else [])
    removed = 0
    for container in client.containers.list(all=True, filters={"label": wanted}, ignore_removed=True):
        if not (everything or sandbox_id) and _owner_alive(container.labels):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise
    return removed
