"""Run an agent's `execute_command(image)` in a sandbox, its perception answered from the caller.

The sandbox runs `api/supervisor.py` (stdlib only, shipped as source): a supervisor process forks
a child that loads `api/image_patch.py` as the module `image_patch`, builds the `Image` whose
perception sends each call over the sandbox channel (`sandboxes.channel`), runs the agent's program
and calls `execute_command(image)`. The supervisor, which never runs agent code, writes the one
report line, tagged with a nonce it alone reads (from stdin, after the fork); the child's prints go
to a pipe the supervisor drains. The report is then read here as data: a line that is not a dict of
the expected fields and types is a failed run, never an exception. The caller's `PerceptionServer`
answers the perception requests and logs them.
"""

from __future__ import annotations

import ast
import json
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
MAX_RESULT = 4000
#: Characters of the program's own prints kept.
MAX_STDOUT = 4000
#: Bytes of the sandbox's stdout read: the report line alone (its fields are capped above).
MAX_REPORT_BYTES = 256_000
_API_PATH = Path(__file__).with_name("api") / "image_patch.py"
_SUPERVISOR_PATH = Path(__file__).with_name("api") / "supervisor.py"
#: Report fields -> their type (each may also be None); `stdout` is always a str.
REPORT_FIELDS: dict[str, type] = {"result": str, "type": str, "error": str, "error_source": str, "paper": str,
                                  "error_line": int, "stdout": str}
_DEF = re.compile(rf"^\s*def\s+{ENTRY_POINT}\s*\(", re.M)



@lru_cache(maxsize=1)
def api_source() -> str:
    """The stdlib-only `image_patch` module that runs inside the sandbox."""
    return _API_PATH.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def supervisor_source() -> str:
    """The stdlib-only program the sandbox runs (supervisor + child, see `api/supervisor.py`)."""
    return _SUPERVISOR_PATH.read_text(encoding="utf-8")


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
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
    except (RecursionError, MemoryError):  # `-` * 15,000 + `1`, `1+` * 9,000: the parser gives up
        return "SyntaxError: the program is nested too deeply to parse"
    return None


@dataclass
class RunOutcome:
    """What one run of a program produced.

    Attributes:
        result: `str(execute_command(image))`, or None (returned None, or failed).
        result_type: Type name of the returned value.
        paper_result: ViperGPT's reading of the value (`api.image_patch.viper_result`), under `protocol="paper"`.
        error: One line: the exception (with its program line), a timeout, a sandbox failure; None when it returned.
        stdout: What the program printed (capped).
        calls: The perception calls, in order (method, box, args, answer or error).
        duration: Seconds the sandboxed run took.
    """

    result: str | None = None
    result_type: str | None = None
    paper_result: str | None = None
    error: str | None = None
    stdout: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


def read_outcome(report: Any) -> dict[str, Any] | None:
    """The report's fields if it is a dict of `REPORT_FIELDS` with the right types, else None."""
    if not isinstance(report, dict):
        return None
    fields: dict[str, Any] = {}
    for key, kind in REPORT_FIELDS.items():
        value = report.get(key)
        if value is not None and type(value) is not kind:
            return None
        fields[key] = value
    if fields["stdout"] is None:
        return None
    return fields


def run_program(program: str, server: PerceptionServer, sandbox: Any, *, timeout: float = 10.0,
                memory_mb: int | None = None, protocol: str = "default") -> RunOutcome:
    """Run `program` (which defines `execute_command(image)`) against `server`'s perception in `sandbox`."""
    from sandboxes.channel import CLIENT_SOURCE  # imported here: `import rerest_envs` stays light
    from sandboxes.testing import read_report

    nonce = "@@gqa-" + secrets.token_hex(16) + "@@"
    config = {"api": api_source(), "program": program, "size": [server.perception.width, server.perception.height],
              "protocol": protocol, "entry": ENTRY_POINT, "max_result": MAX_RESULT, "stdout_cap": MAX_STDOUT}
    launcher = f"{CLIENT_SOURCE}\n_CONFIG = {json.dumps(config)!r}\n_CONFIG = __import__('json').loads(_CONFIG)\n" + supervisor_source()
    execution = sandbox.run(launcher, stdin=nonce + "\n", timeout=timeout, memory_mb=memory_mb, max_output=MAX_REPORT_BYTES,
                            on_request=server.handle)
    outcome = RunOutcome(calls=list(server.log), duration=execution.duration)
    tagged = sum(line.startswith(nonce) for line in execution.stdout.splitlines())
    report = read_report(execution.stdout, nonce) if tagged <= 1 else [f"{tagged} report lines"]
    if report is None:
        outcome.error = execution.reason or "the sandbox ended without a report"
        if execution.timed_out:
            outcome.error = f"timed out after {timeout:g} s"
        return outcome
    fields = read_outcome(report)
    if fields is None:
        outcome.error = "the sandbox's report was malformed (not a dict of the expected fields)"
        return outcome
    outcome.result, outcome.result_type, outcome.paper_result = fields["result"], fields["type"], fields["paper"]
    outcome.stdout = fields["stdout"]
    if fields["error"]:
        where = f" (line {fields['error_line']}: {fields['error_source'] or ''})" if fields["error_line"] else ""
        outcome.error = fields["error"] + where
    return outcome


__all__ = ["ENTRY_POINT", "MAX_RESULT", "REPORT_FIELDS", "RunOutcome", "api_source", "as_program", "parse_error", "read_outcome",
           "run_program", "supervisor_source"]
