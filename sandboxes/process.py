"""The `process` backend: warm workers on this machine, each inside bubblewrap namespaces.

Isolation, from strongest to weakest, depending on what the machine allows:
  * `bwrap`: bubblewrap gives each worker its own network (no route out, not even to the host's
    127.0.0.1), pid, IPC and UTS namespaces, and a file system that shows only the Python install
    and system libraries read-only, plus a private /tmp. Used when `bwrap` is on PATH.
  * `none`: a plain subprocess; rlimits, process-group kill and the stray sweep still apply, but the
    program can reach the network and read what the user can read. Only with `isolation="none"`
    asked explicitly (or `"auto"` on a machine without bubblewrap, with a warning).
When the caller is root, every job also runs under an unprivileged uid of its worker's own (no two
live workers of this process share one, across all its sandboxes), which makes the process-count
limit real (it is not enforced for root, and counted per uid by the kernel) and hides root-owned files.

Files: /tmp (where each job's work directory lives) and /dev/shm are tmpfs mounts of `work_mb` MiB
each, so a run can hold at most `memory_mb` of address space per process plus `work_mb` of files in
RAM; a write beyond that fails with ENOSPC.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import warnings
from pathlib import Path
from typing import Literal

from sandboxes.base import Sandbox
from sandboxes.errors import SandboxUnavailable
from sandboxes.pipes import PipeConnection
from sandboxes.pool import WorkerPool
from sandboxes.result import Limits

WORKER = Path(__file__).with_name("worker.py")

Isolation = Literal["auto", "bwrap", "none"]


#: Live workers one host process may have at once (each holds one job uid).
UIDS_PER_PROCESS = 64
_slots_lock = threading.Lock()
_slots_in_use: set[int] = set()


def job_uid(slot: int) -> int:
    """The job uid of worker slot `slot` (0..63) of this host process."""
    return 200_000 + (os.getpid() % 1_000_000) * UIDS_PER_PROCESS + slot


def _take_slot() -> int:
    with _slots_lock:
        for slot in range(UIDS_PER_PROCESS):
            if slot not in _slots_in_use:
                _slots_in_use.add(slot)
                return slot
    raise SandboxUnavailable(f"More than {UIDS_PER_PROCESS} process-sandbox workers are alive in this process: "
                             "close sandboxes you no longer use (sandbox.close()).")


def _release_slot(slot: int) -> None:
    with _slots_lock:
        _slots_in_use.discard(slot)


class _Worker(PipeConnection):
    """A worker that gives its job uid back when it is killed."""

    def __init__(self, argv: list[str], slot: int, env: dict[str, str]) -> None:
        self.slot = slot
        try:
            super().__init__(argv, env=env)
        except BaseException:
            _release_slot(slot)
            raise

    def kill(self) -> None:
        try:
            super().kill()
        finally:
            _release_slot(self.slot)


def _system_binds() -> list[str]:
    """Read-only binds of what a Python program needs: /usr, /lib*, /bin, /etc files, the interpreter."""
    args: list[str] = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(top), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"):
        if Path(etc).exists():
            args += ["--ro-bind", etc, etc]
    return args


class ProcessSandbox(Sandbox):
    """Runs programs in warm local workers (see module docstring for the isolation layers).

    Args:
        workers: How many programs may run at the same time.
        limits: Default `Limits` of each run.
        isolation: `"auto"` (bwrap when installed, else none with a warning), `"bwrap"`, or `"none"`.
        python: Interpreter of the workers (default: this one). Programs see its standard library.
        site_packages: Let programs import what is installed in this environment (off: stdlib only,
            which is faster to start and shows less of the host).
        work_mb: Size of the /tmp and /dev/shm tmpfs mounts of each worker (bwrap only), in MiB;
            default max(64, 4 x max_file_mb), as the docker backend's /work.
    """

    backend = "process"

    def __init__(self, *, workers: int = 2, limits: Limits | None = None, isolation: Isolation = "auto",
                 python: str | None = None, site_packages: bool = False, work_mb: int | None = None) -> None:
        super().__init__(workers=workers, limits=limits)
        self.work_mb = work_mb or max(64, 4 * self.limits.max_file_mb)
        if self.work_mb <= 0:
            raise ValueError(f"work_mb must be positive, got {work_mb!r}.")
        if isolation not in ("auto", "bwrap", "none"):
            raise ValueError(f"isolation={isolation!r} is not one of 'auto', 'bwrap', 'none'.")
        bwrap = shutil.which("bwrap")
        if isolation == "bwrap" and bwrap is None:
            raise SandboxUnavailable("isolation='bwrap' needs bubblewrap: install it (apt-get install bubblewrap) or pass isolation='none'.")
        if isolation == "auto":
            isolation = "bwrap" if bwrap else "none"
            if bwrap is None:
                warnings.warn("bubblewrap (bwrap) is not installed: the process sandbox runs programs without network or "
                              "file-system isolation. Install it with `apt-get install bubblewrap`.", RuntimeWarning, stacklevel=2)
        self.mode: str = isolation
        self.python = python or sys.executable
        self.site_packages = site_packages

    @property
    def isolation(self) -> str:
        layers = ["bwrap namespaces (net, pid, ipc, uts, mounts)"] if self.mode == "bwrap" else ["no namespaces"]
        layers.append("per-job uid" if os.geteuid() == 0 else "caller's uid")
        return f"process: {', '.join(layers)}, rlimits, forked children"

    def _argv(self, slot: int) -> list[str]:
        python_flags = ["-I"] + ([] if self.site_packages else ["-S"])
        worker_args = ["--uid", str(job_uid(slot))]
        if self.mode == "none":
            return [self.python, *python_flags, str(WORKER), *worker_args]
        # Without site-packages the real interpreter is enough (a venv's bin/python is only a symlink
        # to it); with them, the venv itself must be visible too.
        python = Path(self.python) if self.site_packages else Path(os.path.realpath(self.python))
        prefixes = {Path(sys.base_prefix).resolve(), Path(os.path.realpath(self.python)).parent.parent}
        if self.site_packages:
            prefixes.add(Path(sys.prefix).resolve())
        mounts = [p for p in sorted(prefixes) if not str(p).startswith(("/usr", "/bin", "/lib"))]
        if not str(python.parent).startswith(("/usr", "/bin")) and python.parent not in mounts:
            mounts.append(python.parent)
        # /tmp comes first: a later tmpfs would hide binds below it (checkouts under /tmp).
        size = str(self.work_mb * 1024 * 1024)
        binds: list[str] = ["--size", size, "--tmpfs", "/tmp", *_system_binds()]
        # Folders above a bind (e.g. /root, mode 0700) must be traversable by the jobs' uid.
        parents = sorted({str(a) for m in mounts for a in m.parents if str(a) not in ("/", "/tmp")}, key=len)
        for parent in parents:
            binds += ["--perms", "0755", "--dir", parent]
        for mount in mounts:
            binds += ["--ro-bind", str(mount), str(mount)]
        binds += ["--ro-bind", str(WORKER), "/opt/rerest/worker.py"]
        return ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--die-with-parent", "--new-session", *binds, "--proc", "/proc", "--dev", "/dev",
                "--size", size, "--tmpfs", "/dev/shm",
                "--chdir", "/tmp", "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin",
                str(python), *python_flags, "/opt/rerest/worker.py", *worker_args, "--base", "/tmp/jobs", "--lock-tmp"]

    def _make_pool(self) -> WorkerPool:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}

        def spawn(index: int) -> PipeConnection:
            slot = _take_slot()
            return _Worker(self._argv(slot), slot, env)

        return WorkerPool(spawn, self.workers, name="process")
