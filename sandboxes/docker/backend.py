"""The `docker` backend: warm containers, each running one `sandboxes/worker.py` as its main process.

Each worker lives in its own container with
  * no network at all (`network_mode="none"`: only a loopback of its own),
  * a read-only root file system; writable tmpfs only at /work (the jobs' private folders) and /tmp
    (locked by the worker so jobs cannot share files through it),
  * cgroup limits: memory (swap included) a bit above the per-run memory limit, a pids limit, CPUs,
  * every capability dropped except the few the worker needs to confine its jobs (chown a job's
    folder, switch to the job's uid, kill what the job leaves behind), and `no-new-privileges`,
  * no log driver (the protocol is not written to disk) and auto-remove: a container whose worker
    exits, or whose host process dies, disappears by itself.
Inside, each program still runs in a forked child with rlimits under its own unprivileged uid, as in
the `process` backend; the container is the outer wall. Runs go to warm containers, so a run costs a
fork, not a container start. A container whose worker dies (killed, out of memory) is removed and
replaced, and that run reports `error`.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from typing import Any

from sandboxes.base import Sandbox
from sandboxes.docker.connection import DockerConnection, remove_container
from sandboxes.docker.daemon import LABEL_SANDBOX_ID, cleanup_containers, connect, import_docker, owner_labels
from sandboxes.docker.image import DEFAULT_TAG, WORKER_IN_IMAGE, ensure_image
from sandboxes.errors import SandboxError, SandboxUnavailable
from sandboxes.pool import WorkerPool
from sandboxes.result import Limits

#: Capabilities the worker (root in the container) needs; everything else is dropped.
#: CHOWN: give a job its folder; FOWNER: chmod that folder after the chown; SETUID/SETGID: become the
#: job's uid; KILL: kill the job's processes (another uid); DAC_OVERRIDE: delete the job's folder.
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]

#: MiB the container may use beyond the per-run memory limit (the worker itself, tmpfs pages, page tables).
MEMORY_OVERHEAD_MB = 128
#: Processes the container may hold beyond the per-run process limit (the worker and its bookkeeping).
PIDS_OVERHEAD = 16

#: Job uids of docker containers start here (the process backend's are below 65,000,000).
JOB_UID_BASE = 100_000_000
_UIDS_PER_PROCESS = 1024

_container_numbers = itertools.count()


def container_job_uid(number: int, pid: int | None = None) -> int:
    """A uid for the jobs of one container, unique among this host's live containers and process workers.

    RLIMIT_NPROC counts processes per uid across the whole kernel (containers share the host's user
    namespace), so containers must not share a job uid, or one container's fork bomb would stop
    another's programs from forking.
    """
    pid = os.getpid() if pid is None else pid
    return JOB_UID_BASE + (pid % 1_000_000) * _UIDS_PER_PROCESS + number % _UIDS_PER_PROCESS


def job_uids(pid: int | None = None) -> range:
    """Every uid the jobs of this process's docker containers can run under (for leak checks with psutil)."""
    first = container_job_uid(0, pid)
    return range(first, first + _UIDS_PER_PROCESS)


class DockerSandbox(Sandbox):
    """Runs programs in warm docker containers (see the module docstring for what confines them).

    Args:
        workers: How many containers (programs at the same time).
        limits: Default `Limits` of each run.
        image: Image tag; built offline from this interpreter when missing or outdated.
        build_if_missing: Build (or rebuild) the image when needed; False: raise `SandboxUnavailable`.
        cpus: CPUs each container may use (`nano_cpus`).
        container_memory_mb: Memory cgroup limit of each container (swap included); default: the
            per-run memory limit + the /work tmpfs + 128 MiB. A run asking for more memory than this
            is stopped by the out-of-memory killer (reported as `out_of_memory`).
        pids_limit: Processes per container; default: `limits.max_processes` + 16.
        work_mb: Size of the /work tmpfs (all files of a run); default: max(64, 4 x max_file_mb).
        runtime: OCI runtime (e.g. `"runsc"` for gVisor); default: the daemon's (runc).
        client: A `docker.DockerClient` to use instead of one from the environment.

    Raises:
        DependencyNotInstalled: the docker SDK is missing (`pip install "rerest[docker]"`).
        SandboxUnavailable: no daemon answers, or the image is missing and may not be built.
    """

    backend = "docker"

    def __init__(self, *, workers: int = 2, limits: Limits | None = None, image: str = DEFAULT_TAG,
                 build_if_missing: bool = True, cpus: float = 1.0, container_memory_mb: int | None = None,
                 pids_limit: int | None = None, work_mb: int | None = None, runtime: str | None = None,
                 client: Any = None) -> None:
        super().__init__(workers=workers, limits=limits)
        if cpus <= 0:
            raise ValueError(f"cpus must be positive, got {cpus!r}.")
        self.client = client or connect()
        self.image = image
        self.cpus = cpus
        self.work_mb = work_mb or max(64, 4 * self.limits.max_file_mb)
        self.container_memory_mb = container_memory_mb or (self.limits.memory_mb + self.work_mb + MEMORY_OVERHEAD_MB)
        self.pids_limit = pids_limit or (self.limits.max_processes + PIDS_OVERHEAD)
        self.runtime = runtime
        self.build_if_missing = build_if_missing
        self.sandbox_id = uuid.uuid4().hex
        self.image_id: str = ensure_image(self.client, image, build_if_missing=build_if_missing).id

    @property
    def isolation(self) -> str:
        return (f"docker: container without network, read-only root, {self.container_memory_mb} MiB memory, "
                f"{self.pids_limit} pids, {self.cpus:g} CPU, capabilities {'+'.join(CAPABILITIES)} only, "
                "per-job uid, rlimits, forked children")

    # -- containers -------------------------------------------------------------------------------
    def _host_config(self) -> dict[str, Any]:
        memory = f"{self.container_memory_mb}m"
        return self.client.api.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/work": f"rw,nosuid,nodev,noexec,size={self.work_mb}m,mode=0711",
                   "/tmp": "rw,nosuid,nodev,noexec,size=16m,mode=1777"},
            shm_size="16m",
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=self.pids_limit,
            nano_cpus=int(self.cpus * 1e9),
            cap_drop=["ALL"],
            cap_add=list(CAPABILITIES),
            security_opt=["no-new-privileges"],
            auto_remove=True,
            log_config={"type": "none", "config": {}},
            runtime=self.runtime,
        )

    def _spawn(self, index: int) -> DockerConnection:
        number = next(_container_numbers)
        command = ["python3", "-I", "-S", WORKER_IN_IMAGE, "--uid", str(container_job_uid(number)),
                   "--base", "/work", "--lock-tmp"]
        labels = {**owner_labels(), LABEL_SANDBOX_ID: self.sandbox_id, "rerest.worker_index": str(index)}
        docker = import_docker()
        name = f"rerest-sandbox-{os.getpid()}-{self.sandbox_id[:8]}-{number}"
        environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        for attempt in range(2):
            try:
                return DockerConnection(self.client, self.image_id, command, host_config=self._host_config(),
                                        labels=labels, environment=environment, name=f"{name}-{attempt}")
            except docker.errors.ImageNotFound:
                if attempt:
                    raise SandboxUnavailable(f"The docker sandbox image {self.image} vanished while in use.") from None
                # Rebuilt (and the old one removed) by another process meanwhile: use the current one.
                self.image_id = ensure_image(self.client, self.image, build_if_missing=self.build_if_missing).id
            except SandboxError:
                raise
            except Exception as exc:  # docker API errors: one line, in this package's exception tree
                message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                raise SandboxUnavailable(f"Cannot start a docker sandbox container from {self.image}: {message[:300]}") from None
        raise AssertionError("unreachable")

    def _make_pool(self) -> WorkerPool:
        return WorkerPool(self._spawn, self.workers, name="docker")

    def containers(self) -> list[Any]:
        """This sandbox's live containers (`docker.models.containers.Container`)."""
        return self.client.containers.list(all=True, filters={"label": [f"{LABEL_SANDBOX_ID}={self.sandbox_id}"]},
                                          ignore_removed=True)

    def close(self) -> None:
        """Remove every container of this sandbox (also ones a failed start left behind); safe to call twice."""
        super().close()
        client = getattr(self, "client", None)
        if client is None:
            return
        try:
            for container in self.containers():
                remove_container(client.api, container.id)
            # A removal the daemon already had in progress (auto-remove after a kill) returns at
            # once; wait for it, so that "closed" means no container is left.
            deadline = time.monotonic() + 30.0
            while self.containers() and time.monotonic() < deadline:
                time.sleep(0.1)
        except Exception:  # daemon gone: the containers die with their stdin (auto-remove)
            pass


__all__ = ["CAPABILITIES", "DockerSandbox", "cleanup_containers", "container_job_uid", "job_uids"]
