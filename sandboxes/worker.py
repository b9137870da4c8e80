"""The sandbox worker: a warm Python process that runs untrusted programs, one forked child each.

Both backends start this file (stdlib only, Python >= 3.8) inside their isolation layer: the
`process` backend inside bubblewrap namespaces, the `docker` backend as a container's main process.
A fresh interpreter per program costs 20-80 ms of start-up; forking this warm one costs ~1 ms, and
each child is still its own process with its own limits.

Protocol: one JSON object per line on stdin (a job), one JSON object per line on stdout (its
result). Job keys: id, program, timeout, memory_mb, max_output, max_processes, max_file_mb, stdin.
Result keys: id, exit_code, signal, stdout, stderr, timed_out, out_of_memory, output_truncated,
duration, stray_processes.

Per job the child: starts a new session, takes rlimits (address space, CPU time, file size, open
files, no core dumps; process count once it runs under its own uid), moves into a private work
directory, switches to an unprivileged uid when the worker is root, and runs the program with
`exec` in a fresh `__main__` namespace. Afterwards the worker kills every process the job left
behind (its process group, and every orphan re-parented to the worker, which is a child
subreaper), reaps them and deletes the work directory, so nothing outlives the run.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback

# Modules MBPP/HumanEval-style programs import most; importing them once here makes them free
# in every forked child.
PRELOAD = ("math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
           "operator", "typing", "random", "statistics", "fractions", "decimal", "copy", "json")

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the sweep below still kills the process group
        pass


def _children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (read from /proc; empty where /proc is missing)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(b")") + 2:].split()[1])
        if ppid == pid:
            found.append(int(name))
    return found


def _sweep(pgid: int) -> int:
    """Kill the job's process group and every other child of this worker; return how many strays."""
    me, strays = os.getpid(), 0
    for _ in range(1000):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        # Reap whatever has died; ChildProcessError means no child is left at all: done.
        try:
            while True:
                pid, _status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            return strays
        for pid in _children_of(me):
            strays += 1
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.001)
    return strays


def _run_child(job: dict, workdir: str, out_fd: int, err_fd: int, in_fd: int, uid: int | None,
               protocol_fds: tuple[int, ...]) -> None:
    """In the forked child: confine, then execute the program. Never returns."""
    code = 1
    try:
        os.setsid()
        for fd in protocol_fds:
            os.close(fd)
        os.dup2(in_fd, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (in_fd, out_fd, err_fd):
            os.close(fd)
        mem = int(job["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(float(job["timeout"])) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        fsize = int(job["max_file_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        os.chdir(workdir)
        if uid is not None:
            nproc = int(job["max_processes"])
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8",
                           "TMPDIR": workdir, "PYTHONIOENCODING": "utf-8"})
        tempfile.tempdir = workdir
        sys.stdin = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.argv = ["<program>"]
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = 0
        try:
            program = compile(job["program"], "<program>", "exec")
            exec(program, {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # the program's own error: report it like `python prog.py` would
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            code = code or 1
    except BaseException:  # confinement itself failed: never run the program unconfined
        try:
            os.write(2, traceback.format_exc().encode())
        except OSError:
            pass
        code = 125
    os._exit(code & 0xFF)


def _read_capped(path: str, limit: int) -> tuple[str, bool]:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


def _wait(pid: int, timeout: float) -> tuple[int | None, bool]:
    """Wait for `pid` at most `timeout` seconds; return (wait status or None, timed_out)."""
    deadline = time.monotonic() + timeout
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
    try:
        delay = 0.0005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status, False
            left = deadline - time.monotonic()
            if left <= 0:
                return None, True
            if pidfd is not None:
                select.select([pidfd], [], [], left)
            else:
                time.sleep(min(delay, left))
                delay = min(delay * 2, 0.01)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def run_job(job: dict, base: str, uid: int | None, protocol_fds: tuple[int, ...]) -> dict:
    """Run one job in a forked child and describe what happened."""
    workdir = tempfile.mkdtemp(prefix="job-", dir=base)
    private = tempfile.mkdtemp(prefix="io-", dir=base)  # root-only: the job cannot open its own logs by path
    os.chmod(private, stat.S_IRWXU)
    if uid is not None:
        os.chown(workdir, uid, uid)
    os.chmod(workdir, stat.S_IRWXU)
    out_path, err_path, in_path = (os.path.join(private, n) for n in ("stdout", "stderr", "stdin"))
    with open(in_path, "w", encoding="utf-8") as f:
        f.write(job.get("stdin") or "")
    out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    in_fd = os.open(in_path, os.O_RDONLY)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _run_child(job, workdir, out_fd, err_fd, in_fd, uid, protocol_fds)
    for fd in (out_fd, err_fd, in_fd):
        os.close(fd)
    status, timed_out = _wait(pid, float(job["timeout"]))
    duration = time.monotonic() - start
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
    strays = _sweep(pid)
    exit_code = sig = None
    if status is not None:
        if os.WIFEXITED(status):
            exit_code = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
    limit = int(job["max_output"])
    stdout, cut_out = _read_capped(out_path, limit)
    stderr, cut_err = _read_capped(err_path, limit)
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(private, ignore_errors=True)
    tail = stderr.rstrip().rsplit("\n", 1)[-1]
    return {
        "id": job.get("id"),
        "exit_code": exit_code,
        "signal": sig,
        "stdout": stdout,
        "stderr": stderr,
        "timed_out": timed_out or sig == signal.SIGXCPU,
        "out_of_memory": tail.startswith("MemoryError") or (sig == signal.SIGKILL and not timed_out),
        "output_truncated": cut_out or cut_err or sig == signal.SIGXFSZ,
        "duration": duration,
        "stray_processes": strays,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uid", type=int, default=None, help="unprivileged uid for jobs (root workers only)")
    parser.add_argument("--base", default=None, help="folder for per-job work directories")
    parser.add_argument("--lock-tmp", action="store_true", help="chmod 0755 the folders jobs could share (/tmp, /dev/shm): only inside a private mount namespace")
    args = parser.parse_args(argv)
    # Keep the protocol on private fds; fd 0/1 become /dev/null so nothing else can write to it.
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    uid = args.uid if (args.uid is not None and os.geteuid() == 0) else None
    if args.lock_tmp and os.geteuid() == 0:
        for shared in ("/tmp", "/dev/shm", "/var/tmp"):
            try:
                os.chmod(shared, 0o755)
            except OSError:
                pass
    base = args.base or tempfile.mkdtemp(prefix="rerest-sandbox-")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o711)
    for name in PRELOAD:
        __import__(name)
    reader = os.fdopen(proto_in, "rb", buffering=0)
    os.write(proto_out, (json.dumps({"ready": True, "pid": os.getpid(), "uid": uid, "python": sys.version.split()[0]}) + "\n").encode())
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = reader.read(1 << 16)
            if not chunk:
                return
            buffer += chunk
        line, buffer = buffer.split(b"\n", 1)
        if not line.strip():
            continue
        try:
            job = json.loads(line)
            result = run_job(job, base, uid, (proto_in, proto_out))
        except Exception:  # a bug in the worker, not in the program: report it, keep serving
            result = {"id": None, "worker_error": traceback.format_exc()}
        os.write(proto_out, (json.dumps(result) + "\n").encode())


if __name__ == "__main__":
    main()
