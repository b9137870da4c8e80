"""Run an agent's `execute_command(image)` in a sandbox, its perception answered from the caller.

The sandbox runs a small stdlib-only launcher: it loads `api/image_patch.py` (shipped as source)
as the module `image_patch`, builds the `Image` whose perception sends each call over the sandbox
channel (`sandboxes.channel`), runs the agent's program, calls `execute_command(image)` and prints
one JSON report line tagged with a random nonce (so the program's own prints cannot forge it).
The caller's `PerceptionServer` answers the requests and logs them.
"""

from __future__ import annotations

import ast
import re
import secrets
import textwrap
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rerest_envs.code.extract import extract_program
from rerest_envs.gqa.perception.base import PerceptionServer

ENTRY_POINT = "execute_command"
#: Characters of the returned value kept (GQA answers are a few words).
MAX_RESULT = 1000
_API_PATH = Path(__file__).with_name("api") / "image_patch.py"
_DEF = re.compile(rf"^\s*def\s+{ENTRY_POINT}\s*\(", re.M)

_LAUNCHER = r'''
import json as _json, sys as _sys, traceback as _tb, types as _types
_NONCE, _API, _PROGRAM, _SIZE = {nonce!r}, {api!r}, {program!r}, {size!r}
_real_out = _sys.stdout
_api = _types.ModuleType("image_patch")
exec(compile(_API, "<image_patch>", "exec"), _api.__dict__)
_sys.modules["image_patch"] = _api

def _perceive(method, box, ref, args):
    answer = _json.loads(channel_request(_json.dumps({{"method": method, "box": box, "ref": ref, "args": args}})))
    if "error" in answer:
        raise _api.PerceptionError(answer["error"])
    return answer["ok"]

class _Capped:
    def __init__(self):
        self.parts, self.size = [], 0
    def write(self, s):
        if self.size < 4000:
            self.parts.append(s[: 4000 - self.size])
            self.size += len(self.parts[-1])
        return len(s)
    def flush(self):
        pass

_image = _api.Image(_SIZE[0], _SIZE[1], _perceive)
_api._DEFAULT_IMAGE[0] = _image
_namespace = {{"__name__": "__main__"}}
_namespace.update({{k: getattr(_api, k) for k in _api.__all__}})
_report = {{"result": None, "type": None, "error": None}}
_sys.stdout = _captured = _Capped()
try:
    exec(compile(_PROGRAM, "<solution>", "exec"), _namespace)
    _fn = _namespace.get("{entry}")
    if not callable(_fn):
        raise NameError("the program does not define {entry}(image)")
    _value = _fn(_image)
    _report["type"] = type(_value).__name__
    _report["result"] = None if _value is None else str(_value)[:{max_result}]
except BaseException as _exc:
    _lines = _PROGRAM.splitlines()
    _where = [f for f in _tb.extract_tb(_exc.__traceback__) if f.filename == "<solution>"]
    _text = "".join(_tb.format_exception_only(type(_exc), _exc)).strip().splitlines()
    _report["error"] = (_text[-1] if _text else type(_exc).__name__)[:500]
    if _where:
        _f = _where[-1]
        _src = _lines[_f.lineno - 1].strip() if 0 < _f.lineno <= len(_lines) else ""
        _report["error_line"] = _f.lineno
        _report["error_source"] = _src[:200]
_report["stdout"] = "".join(_captured.parts)
_real_out.write(_NONCE + _json.dumps(_report) + "\n")
_real_out.flush()
'''


@lru_cache(maxsize=1)
def api_source() -> str:
    """The stdlib-only `image_patch` module that runs inside the sandbox."""
    return _API_PATH.read_text(encoding="utf-8")


def as_program(text: str) -> tuple[str, str]:
    """The full program from an answer: fenced or bare code, a whole `def execute_command`, or only its body.

    Returns `(program, how)`; `how` tells the wrapping found, with `+body` when a body was wrapped.
    """
    program, how = extract_program(text, ENTRY_POINT)
    if program.strip() and not _DEF.search(program) and _is_body(program):
        body = textwrap.indent(textwrap.dedent(program), "    ")
        program, how = f"def {ENTRY_POINT}(image) -> str:\n{body}", how + "+body"
    return program, how


def _is_body(code: str) -> bool:
    """Code that only makes sense inside the function: indented, or with a `return` at its top level."""
    first = next(line for line in code.splitlines() if line.strip())
    if first[:1] in (" ", "\t"):
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.Return) for node in tree.body)


def parse_error(program: str) -> str | None:
    """A one-line syntax error, or None when the program parses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(program)
    except SyntaxError as exc:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:  # null bytes
        return f"SyntaxError: {exc}"
    return None


@dataclass
class RunOutcome:
    """What one run of a program produced.

    Attributes:
        result: `str(execute_command(image))`, or None (returned None, or failed).
        result_type: Type name of the returned value.
        error: One line: the exception (with its program line), a timeout, a sandbox failure; None when it returned.
        stdout: What the program printed (capped).
        calls: The perception calls, in order (method, box, args, answer or error).
        duration: Seconds the sandboxed run took.
    """

    result: str | None = None
    result_type: str | None = None
    error: str | None = None
    stdout: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


def run_program(program: str, server: PerceptionServer, sandbox: Any, *, timeout: float = 10.0,
                memory_mb: int | None = None) -> RunOutcome:
    """Run `program` (which defines `execute_command(image)`) against `server`'s perception in `sandbox`."""
    from sandboxes.channel import CLIENT_SOURCE  # imported here: `import rerest_envs` stays light
    from sandboxes.testing import read_report

    nonce = "@@gqa-" + secrets.token_hex(8) + "@@"
    size = [server.perception.width, server.perception.height]
    launcher = CLIENT_SOURCE + _LAUNCHER.format(nonce=nonce, api=api_source(), program=program, size=size, entry=ENTRY_POINT,
                                                max_result=MAX_RESULT)
    execution = sandbox.run(launcher, timeout=timeout, memory_mb=memory_mb, on_request=server.handle)
    outcome = RunOutcome(calls=list(server.log), duration=execution.duration)
    report = read_report(execution.stdout, nonce)
    if report is None:
        outcome.error = execution.reason or "the program ended before execute_command returned (did it call exit()?)"
        if execution.timed_out:
            outcome.error = f"timed out after {timeout:g} s"
        return outcome
    outcome.result, outcome.result_type, outcome.stdout = report["result"], report["type"], report.get("stdout", "")
    if report["error"]:
        where = f" (line {report['error_line']}: {report['error_source']})" if report.get("error_line") else ""
        outcome.error = report["error"] + where
    return outcome


__all__ = ["ENTRY_POINT", "RunOutcome", "api_source", "as_program", "parse_error", "run_program"]
