"""The program that runs in the sandbox: a supervisor that has run no agent code forks a child that
runs the agent's program, and writes the report itself.

Shipped as source (stdlib only) by `rerest_envs.gqa.program`, after `sandboxes.channel.CLIENT_SOURCE`
and a `_CONFIG = {...}` line; never imported by the package. Why two processes: a report written by
the process that ran the program can be forged by the program (it reaches every object and fd of
its process). Here:

* the supervisor makes itself non-dumpable (no ptrace, no /proc/<pid>/fd or mem for its uid), reads
  the report nonce from stdin into a buffer and unlinks the stdin file (it can where jobs run under
  the caller's uid, the only case where the program could open it by path), then forks; the
  child zeroes its copy of the buffer and replaces its stdin by /dev/null before any agent code
  runs, so the nonce is nowhere the program can read;
* the child's stdout and stderr are a pipe the supervisor drains (first `stdout_cap` bytes kept), so
  nothing the program prints reaches the sandbox's stdout, which carries the report line only;
* the child hands back what `execute_command` returned as one JSON line on a pipe; the supervisor
  reads it as data (a dict of strings and one int, capped, anything else rejected) and reports it,
  with how the child ended (killed by a signal, exited before returning).
"""

import json as _json
import os as _os
import select as _select
import sys as _sys
import time as _time
import traceback as _tb
import types as _types

#: Fields of the child's message and of the report: name -> allowed type (None always allowed).
_FIELDS = {"result": str, "type": str, "error": str, "error_source": str, "paper": str, "error_line": int}


class _LazyNumpy(_types.ModuleType):
    """`np`, pre-imported as in ViperGPT's namespace, imported on first use (where installed)."""

    def __getattr__(self, name):
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            _os.environ.setdefault(var, "1")
        try:
            import numpy
        except ImportError:
            raise ImportError("numpy is not installed in this sandbox (ViperGPT pre-imports it as np); "
                              "run the env with a sandbox whose Python has numpy") from None
        self.__dict__.update(numpy.__dict__)
        return getattr(numpy, name)


def _message(data, caps):
    """The last line of `data` that is a well-formed message (dict of the known fields), else None."""
    for line in reversed(data.split(b"\n")):
        try:
            msg = _json.loads(line.decode("utf-8"))
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        out = {}
        for key, kind in _FIELDS.items():
            value = msg.get(key)
            if value is not None and type(value) is not kind:
                break
            out[key] = value[: caps.get(key, 4000)] if isinstance(value, str) else value
        else:
            return out
    return None


def _child(result_fd):
    """Run the agent's program and send what `execute_command` returned; never returns."""
    import math
    import threading

    config = _CONFIG  # noqa: F821 (defined by the line the runner prepends)
    api = _types.ModuleType("image_patch")
    exec(compile(config["api"], "<image_patch>", "exec"), api.__dict__)
    _sys.modules["image_patch"] = api
    lock = threading.Lock()  # one request/answer at a time: threads would interleave on the pipes

    def _perceive(method, box, ref, args):
        with lock:
            answer = _json.loads(channel_request(_json.dumps({"method": method, "box": box, "ref": ref, "args": args})))  # noqa: F821
        if not isinstance(answer, dict) or ("error" not in answer and "ok" not in answer):
            raise api.PerceptionError("malformed perception answer")
        if "error" in answer:
            raise api.PerceptionError(answer["error"])
        return answer["ok"]

    image = api.Image(config["size"][0], config["size"][1], _perceive, protocol=config["protocol"])
    api._DEFAULT_IMAGE[0] = image
    hidden = ("viper_result", "PROTOCOLS", "CROP_MARGIN")
    namespace = {"__name__": "__main__", "math": math, "np": _LazyNumpy("numpy")}
    namespace.update({k: getattr(api, k) for k in api.__all__ if k not in hidden})
    report = {"result": None, "type": None, "error": None}
    cap = config["max_result"]
    program = config["program"]
    try:
        exec(compile(program, "<solution>", "exec"), namespace)
        fn = namespace.get(config["entry"])
        if not callable(fn):
            raise NameError("the program does not define %s(image)" % config["entry"])
        value = fn(image)
        report["type"] = type(value).__name__
        report["result"] = None if value is None else str(value)[:cap]
        if config["protocol"] == "paper":
            report["paper"] = api.viper_result(value)[:cap]
    except BaseException as exc:
        lines = program.splitlines()
        where = [f for f in _tb.extract_tb(exc.__traceback__) if f.filename == "<solution>"]
        text = "".join(_tb.format_exception_only(type(exc), exc)).strip().splitlines()
        report["error"] = (text[-1] if text else type(exc).__name__)[:500]
        if where:
            frame = where[-1]
            report["error_line"] = frame.lineno
            report["error_source"] = (lines[frame.lineno - 1].strip() if 0 < frame.lineno <= len(lines) else "")[:200]
    for stream in (_sys.stdout, _sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    data = (_json.dumps(report) + "\n").encode()
    while data:
        data = data[_os.write(result_fd, data):]
    _os._exit(0)


def _describe_end(status):
    import signal

    if status is None:
        return "the program's process could not be waited for"
    if _os.WIFSIGNALED(status):
        sig = _os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timed out (CPU time limit)"
        name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
        return "the program was killed (%s; out of memory?)" % name if sig == signal.SIGKILL else "the program was killed (%s)" % name
    return "the program ended before execute_command returned (did it call exit()?)"


def _supervise():
    config = _CONFIG  # noqa: F821
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0: no ptrace, /proc/<pid> owned by root
    except Exception:
        pass
    secret = bytearray(256)  # read in place: no bytes object holds the nonce before the fork
    size = _os.readv(0, [secret])
    try:
        _os.unlink(_os.readlink("/proc/self/fd/0"))
    except OSError:
        pass
    result_r, result_w = _os.pipe()
    out_r, out_w = _os.pipe()
    pid = _os.fork()
    if pid == 0:
        try:
            secret[:] = bytes(len(secret))
            null = _os.open(_os.devnull, _os.O_RDONLY)
            _os.dup2(null, 0)  # the nonce travels on stdin, for the supervisor only
            _os.close(null)
            _os.dup2(out_w, 1)
            _os.dup2(out_w, 2)
            for fd in (out_w, out_r, result_r):
                _os.close(fd)
            _child(result_w)
        finally:
            _os._exit(1)
    _os.close(result_w)
    _os.close(out_w)
    nonce = bytes(secret[:size]).decode().strip()
    caps = {result_r: 4 * config["max_result"] + 4096, out_r: config["stdout_cap"]}
    kept = {result_r: bytearray(), out_r: bytearray()}
    open_fds = [result_r, out_r]

    def take(fd):
        try:
            chunk = _os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        if not chunk:
            open_fds.remove(fd)
            return False
        room = caps[fd] - len(kept[fd])
        if room > 0:
            kept[fd] += chunk[:room]
        return True

    try:
        pidfd = _os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    status = None
    while status is None:
        watch = open_fds + ([pidfd] if pidfd is not None else [])
        if watch:
            ready = _select.select(watch, [], [], None if pidfd is not None else 0.01)[0]
        else:
            _time.sleep(0.01)
            ready = []
        for fd in ready:
            if fd in open_fds:
                take(fd)
        done, code = _os.waitpid(pid, _os.WNOHANG)
        if done:
            status = code
    for fd in list(open_fds):  # the child is gone: take what is in the pipes, wait for no stray holder
        _os.set_blocking(fd, False)
        while fd in open_fds and take(fd):
            pass
    msg = _message(bytes(kept[result_r]), {"result": config["max_result"], "paper": config["max_result"],
                                            "error": 500, "error_source": 200, "type": 100})
    report = dict.fromkeys(_FIELDS)
    if msg is None:
        report["error"] = _describe_end(status)
    else:
        report.update(msg)
    report["stdout"] = bytes(kept[out_r]).decode("utf-8", "replace")
    data = (nonce + _json.dumps(report) + "\n").encode()
    while data:
        data = data[_os.write(1, data):]
    _os._exit(0)


if __name__ == "__main__" and "_CONFIG" in globals():
    _supervise()
