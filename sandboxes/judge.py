"""The trusted half of `run_tests`: the tests run here, in the caller, and call into the sandbox.

The program runs in the sandbox (`judge_child.py` loads it and serves calls over the run's
channel); the tests run in a judge thread of the caller's process, in a namespace of their own
where each of the program's functions and objects is a `Remote` proxy. A test such as
`assert f(2) == 4` calls `f` in the sandbox, gets back a *copy* of the result as plain data (an int,
a list, ...; see `judge_child.encode`), and compares it here, with the caller's own `==`. The
program never sees a test, an expected value or a verdict, and nothing it sends is more than a
value, so it cannot write "passed": it can only return values. Objects that are not data (class
instances, generators) stay in the sandbox as numbered handles; a `Remote` forwards attribute
access, calls, iteration, `len`, `bool`, indexing and `in` to them, and compares equal only to
itself (never through the program's own `__eq__`).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandboxes import judge_child as codec

#: Source of the sandboxed server (a `_serve(...)` call is appended per run).
CHILD_SOURCE = Path(codec.__file__).read_text(encoding="utf-8")

#: Modules the judge imports itself when the program binds them (tests may use `math.isclose`);
#: any other module the program imported stays a `Remote`.
TRUSTED_MODULES = frozenset({
    "math", "cmath", "re", "collections", "itertools", "functools", "heapq", "bisect", "string", "operator", "typing",
    "random", "statistics", "fractions", "decimal", "copy", "json", "datetime", "array", "hashlib", "textwrap",
    "unicodedata", "numbers", "sys", "time", "calendar", "enum", "dataclasses", "regex",
})

_DONE = json.dumps({"op": "done"})
_GONE = object()


class ProgramGone(BaseException):
    """The sandboxed program ended (exit, crash, time or memory limit); no test code can catch it."""


class Link:
    """The judge thread's line to the sandboxed program, through the run's request/answer channel."""

    def __init__(self, judge_timeout: float) -> None:
        self.commands: queue.Queue[str] = queue.Queue()
        self.replies: queue.Queue[Any] = queue.Queue()
        self.judge_timeout = judge_timeout
        self.finished = False
        self.stuck = False
        self.why: str | None = None  # set by the caller thread before it posts _GONE

    # -- the sandbox's side (the caller thread, inside Sandbox.run) ---------------------------------
    def on_request(self, text: str) -> str:
        if self.finished:
            return _DONE
        self.replies.put(text)
        try:
            return self.commands.get(timeout=self.judge_timeout)
        except queue.Empty:
            self.stuck = True
            return _DONE

    def program_ended(self, why: str) -> None:
        self.why = why
        self.replies.put(_GONE)

    # -- the judge's side -------------------------------------------------------------------------
    def receive(self) -> dict[str, Any]:
        text = self.replies.get()
        if text is _GONE:
            self.replies.put(_GONE)  # every later receive sees it too
            raise ProgramGone(self.why or "the program ended")
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            raise RuntimeError("the program broke the test protocol")
        return message

    def op(self, op: str, handle: int, **fields: Any) -> Any:
        self.commands.put(json.dumps({"op": op, "h": handle, **fields}))
        reply = self.receive()
        if "raise" in reply:
            raise _exception(reply["raise"])
        if "stop" in reply:
            raise StopIteration
        if "ok" not in reply:
            raise RuntimeError("the program broke the test protocol")
        try:
            return codec.decode(reply["ok"], self.remote)
        except (ValueError, TypeError, RecursionError, MemoryError) as exc:
            raise RuntimeError(f"the program sent a value that cannot be read ({exc})") from None

    def remote(self, handle: int) -> "Remote":
        return Remote(self, handle)

    def encode(self, value: Any) -> Any:
        def handle(v: Any) -> int:
            if isinstance(v, Remote) and v._link is self:
                return v._id
            raise codec.EncodeError(f"cannot pass a {type(v).__name__} to the program")

        try:
            return codec.encode(value, handle)
        except codec.EncodeError as exc:
            raise TypeError(str(exc)) from None


def _exception(raised: Any) -> Exception:
    """The program's exception, re-raised here as the built-in class of that name (else RuntimeError)."""
    name, text = (raised + ["", ""])[:2] if isinstance(raised, list) else ("", "")
    text = str(text)[:300]
    cls = getattr(builtins, str(name), None)
    if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, (StopIteration, StopAsyncIteration)):
        try:
            exc = cls(text)
        except Exception:
            exc = RuntimeError(text)
    else:
        exc = RuntimeError(text)
    exc.remote_text = text  # type: ignore[attr-defined]
    return exc


class Remote:
    """A function or object that lives in the sandbox; every use is one call into it."""

    __slots__ = ("_link", "_id")

    def __init__(self, link: Link, handle: int) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_id", handle)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        enc = self._link.encode
        return self._link.op("call", self._id, args=enc(list(args)), kwargs=enc([[k, v] for k, v in kwargs.items()]))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._link.op("getattr", self._id, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._link.op("setattr", self._id, name=name, value=self._link.encode(value))

    def __getitem__(self, key: Any) -> Any:
        return self._link.op("getitem", self._id, key=self._link.encode(key))

    def __contains__(self, item: Any) -> bool:
        return _typed(self._link.op("contains", self._id, item=self._link.encode(item)), bool)

    def __iter__(self) -> Any:
        return self._link.op("iter", self._id)

    def __next__(self) -> Any:
        return self._link.op("next", self._id)

    def __len__(self) -> int:
        n = _typed(self._link.op("len", self._id), int)
        if n < 0:
            raise ValueError("__len__() should return >= 0")
        return n

    def __bool__(self) -> bool:
        return _typed(self._link.op("bool", self._id), bool)

    def __repr__(self) -> str:
        return _typed(self._link.op("repr", self._id), str)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Remote) and other._link is self._link and other._id == self._id

    def __hash__(self) -> int:
        return hash((id(self._link), self._id))


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise TypeError(f"the program answered a {type(value).__name__} where a {kind.__name__} was due")
    return value


@dataclass
class Verdicts:
    """What the judge found: one dict per test (`passed`, `output`, `error`, `timed_out`)."""

    tests: list[dict[str, Any]] = field(default_factory=list)
    load_error: str | None = None
    #: Index of the test that was running when the program ended (len(tests) when it ended after them).
    gone_at: int | None = None
    loaded: bool = False


def describe(exc: BaseException) -> str:
    text = getattr(exc, "remote_text", None)
    if text is not None:
        return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
    return codec.describe_exception(exc)


def _actual(test: str, namespace: dict[str, Any]) -> str | None:
    """For `assert A == B` (or !=, <, in, ...) return repr(A), computed again."""
    try:
        node = ast.parse(test).body[0]
    except (SyntaxError, IndexError, ValueError):
        return None
    if not isinstance(node, ast.Assert):
        return None
    target = node.test.left if isinstance(node.test, ast.Compare) else node.test
    try:
        value = eval(compile(ast.Expression(target), "<test>", "eval"), namespace)
        return repr(value)[:300]
    except ProgramGone:
        raise
    except Exception as exc:
        return describe(exc)


def _namespace(link: Link, loaded: dict[str, Any], setup: str, context: str, entry_points: Sequence[str]) -> dict[str, Any]:
    """The tests' namespace: trusted code first, then the program's names (never over a trusted one)."""
    namespace: dict[str, Any] = {"__name__": "__tests__"}
    for code in (setup, context):
        if code:
            exec(compile(code, "<trusted>", "exec"), namespace)
    trusted = set(namespace)
    for name, data in loaded.items():
        if not isinstance(name, str):
            continue
        if isinstance(data, dict) and set(data) == {"m"}:
            module = str(data["m"])
            if name not in trusted and module in TRUSTED_MODULES:
                try:
                    namespace[name] = importlib.import_module(module)
                except ImportError:
                    pass
            continue
        if name in entry_points or (name not in trusted and not hasattr(builtins, name)):
            try:
                namespace[name] = codec.decode(data, link.remote)
            except (ValueError, TypeError, RecursionError, MemoryError):
                continue
    return namespace


def judge(link: Link, tests: Sequence[str], *, setup: str, context: str, test_setup: str,
          entry_points: Sequence[str], verdicts: Verdicts) -> None:
    """The judge thread: wait for the program, run each test against it, fill `verdicts`."""
    current = [0]
    try:
        try:
            first = link.receive()
        except RuntimeError as exc:
            verdicts.load_error = str(exc)
            return
        if "load_error" in first or not isinstance(first.get("loaded"), dict):
            verdicts.load_error = str(first.get("load_error") or "the program broke the test protocol")[:300]
            return
        verdicts.loaded = True
        namespace = _namespace(link, first["loaded"], setup, context, entry_points)
        setup_error = None
        if test_setup:
            try:
                exec(compile(test_setup, "<test setup>", "exec"), namespace)
            except ProgramGone:
                raise
            except Exception as exc:
                setup_error = describe(exc)
        for test in tests:
            verdict: dict[str, Any] = {"passed": False, "output": None, "error": setup_error, "timed_out": False}
            verdicts.tests.append(verdict)
            current[0] = len(verdicts.tests) - 1
            if setup_error is not None:
                continue
            try:
                exec(compile(test, "<test>", "exec"), namespace)
                verdict["passed"] = True
            except AssertionError:
                verdict["output"] = _actual(test, namespace)
            except ProgramGone:
                raise
            except Exception as exc:
                verdict["error"] = describe(exc)
    except ProgramGone:
        verdicts.gone_at = current[0]
    finally:
        link.finished = True
        link.commands.put(_DONE)
