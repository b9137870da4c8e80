"""The sandbox worker: a warm Python process that runs untrusted programs, one forked child each.

Both backends start this file (stdlib only, Python >= 3.8) inside their isolation layer: the
`process` backend inside bubblewrap namespaces, the `docker` backend as a container's main process.
A fresh interpreter per program costs 20-80 ms of start-up; forking this warm one costs ~1 ms, and
each child is still its own process with its own limits.

Protocol: one JSON object per line on stdin (a job), one JSON object per line on stdout (its
result). Job keys: id, program, timeout, memory_mb, max_output, max_processes, max_file_mb, stdin.
Result keys: id, exit_code, signal, stdout, stderr, timed_out, out_of_memory, output_truncated,
duration, stray_processes.

Channel (optional, job key `channel: true`): the program may ask the caller questions while it runs
(e.g. an image model's answer). The child gets two pipes, named by `$RERST_SANDBOX_CHANNEL`
(`<request fd>,<answer fd>`); it writes one JSON string per line and reads one JSON string per line
back (`sandboxes.channel.CLIENT_SOURCE` does this). The worker relays each request to its caller as
`{"id", "request"}` and expects `{"answer"}` back on its stdin before it reads the next one. Time
spent waiting for an answer is not charged to the program's wall-clock limit. A request that is not
one JSON string line, longer than `max_request_bytes` or beyond `max_requests`, and an answer the
child does not read, close the channel (the program sees EOF); results then carry `channel_error`.
Results of channel jobs also carry `requests` (how many were answered).

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

#: Seconds the worker waits for a child to make room for its answer before closing the channel.
ANSWER_STALL = 1.0
#: Environment variable that names the job's channel fds (`<request fd>,<answer fd>`).
CHANNEL_ENV = "RERST_SANDBOX_CHANNEL"

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
               protocol_fds: tuple[int, ...], channel: "_Channel | None" = None) -> None:
    """In the forked child: confine, then execute the program. Never returns."""
    code = 1
    try:
        os.setsid()
        for fd in protocol_fds + (channel.worker_fds() if channel is not None else ()):
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
        if channel is not None:
            os.environ[CHANNEL_ENV] = "%d,%d" % channel.child_fds()
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


def _memory_file(name: str) -> int:
    """A read-write fd of an anonymous file (memfd; an unlinked temporary file where memfd is missing)."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("rerest-" + name)
        except OSError:
            pass
    fd, path = tempfile.mkstemp(prefix="rerest-io-")
    os.unlink(path)
    return fd


def _read_capped(fd: int, limit: int) -> tuple[str, bool]:
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while len(data) <= limit:
        chunk = os.read(fd, limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return data[:limit].decode("utf-8", errors="replace"), len(data) > limit


class _Channel:
    """The job's request/answer pipes, relayed by the worker to its caller over the protocol fds."""

    def __init__(self, job: dict, proto_in: int, proto_out: int) -> None:
        self.req_r, self.req_w = os.pipe()
        self.ans_r, self.ans_w = os.pipe()
        os.set_blocking(self.ans_w, False)  # a child that does not read its answers cannot block us
        self.proto_in, self.proto_out, self.job_id = proto_in, proto_out, job.get("id")
        self.max_requests = int(job.get("max_requests", 10000))
        self.max_bytes = int(job.get("max_request_bytes", 1 << 20))
        self.buffer, self.served, self.error, self.caller_gone = b"", 0, None, False

    def worker_fds(self) -> tuple:
        return (self.req_r, self.ans_w)

    def child_fds(self) -> tuple:
        return (self.req_w, self.ans_r)

    def after_fork(self) -> None:
        for fd in self.child_fds():
            os.close(fd)

    def open(self) -> bool:
        return self.req_r >= 0

    def close(self, error: str | None = None) -> None:
        if self.error is None and error is not None:
            self.error = error
        for name in ("req_r", "ans_w"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def _ask_caller(self, request: str) -> str | None:
        """Relay one request; None when the caller went away."""
        os.write(self.proto_out, (json.dumps({"id": self.job_id, "request": request}) + "\n").encode())
        data = b""
        while b"\n" not in data:
            chunk = os.read(self.proto_in, 1 << 16)
            if not chunk:
                return None
            data += chunk
        try:
            answer = json.loads(data.split(b"\n", 1)[0]).get("answer")
        except (ValueError, AttributeError):
            answer = None
        return answer if isinstance(answer, str) else json.dumps(answer)

    def _deliver(self, data: bytes) -> bool:
        """Write an answer of any size; False when the child leaves the pipe full for `ANSWER_STALL` seconds."""
        while data:
            try:
                data = data[os.write(self.ans_w, data):]
            except BlockingIOError:
                if not select.select([], [self.ans_w], [], ANSWER_STALL)[1]:
                    return False
            except BrokenPipeError:
                return False
        return True

    def serve(self) -> float:
        """Read what the child wrote and answer every complete request; return seconds spent waiting."""
        chunk = os.read(self.req_r, 1 << 16)
        if not chunk:
            self.close()
            return 0.0
        self.buffer += chunk
        waited = 0.0
        while self.open() and b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if len(line) > self.max_bytes or self.served >= self.max_requests:
                self.close(f"request {self.served + 1} over the channel's limits")
                break
            try:
                request = json.loads(line)
            except ValueError:
                request = None
            if not isinstance(request, str):
                self.close("the program wrote something other than a JSON string line to the channel")
                break
            start = time.monotonic()
            answer = self._ask_caller(request)
            waited += time.monotonic() - start
            if answer is None:
                self.caller_gone = True
                self.close("the caller went away")
                break
            self.served += 1
            if not self._deliver((json.dumps(answer) + "\n").encode()):
                self.close("the program did not read its answers")
        if self.open() and len(self.buffer) > self.max_bytes:
            self.close(f"request {self.served + 1} over the channel's limits")
        return waited


def _wait(pid: int, timeout: float, channel: _Channel | None = None) -> tuple[int | None, bool]:
    """Wait for `pid` at most `timeout` seconds (plus time spent answering its channel requests);
    return (wait status or None, timed_out)."""
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
            if channel is not None and channel.open():
                watch = [channel.req_r] + ([pidfd] if pidfd is not None else [])
                ready, _, _ = select.select(watch, [], [], left if pidfd is not None else min(delay, left))
                if channel.req_r in ready:
                    deadline += channel.serve()
                    if channel.caller_gone:
                        return None, True
                delay = min(delay * 2, 0.01)
            elif pidfd is not None:
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
    if uid is not None:
        os.chown(workdir, uid, uid)
    os.chmod(workdir, stat.S_IRWXU)
    # Output and input live in anonymous memory files, outside the job's tmpfs: a job that fills its
    # folder cannot lose its own output, and no path leads to them.
    out_fd, err_fd, in_fd = (_memory_file(name) for name in ("stdout", "stderr", "stdin"))
    os.write(in_fd, (job.get("stdin") or "").encode("utf-8", errors="surrogateescape"))
    os.lseek(in_fd, 0, os.SEEK_SET)
    channel = _Channel(job, *protocol_fds) if job.get("channel") else None
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _run_child(job, workdir, out_fd, err_fd, in_fd, uid, protocol_fds, channel)
    os.close(in_fd)
    if channel is not None:
        channel.after_fork()
    status, timed_out = _wait(pid, float(job["timeout"]), channel)
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
    stdout, cut_out = _read_capped(out_fd, limit)
    stderr, cut_err = _read_capped(err_fd, limit)
    os.close(out_fd)
    os.close(err_fd)
    shutil.rmtree(workdir, ignore_errors=True)
    tail = stderr.rstrip().rsplit("\n", 1)[-1]
    extra = {}
    if channel is not None:
        channel.close()
        extra = {"requests": channel.served, "channel_error": channel.error}
        if channel.caller_gone:
            raise SystemExit(0)
    return {
        **extra,
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
