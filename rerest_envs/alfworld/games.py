"""Finding ALFWorld game files: the official `json_2.1.1/<split>/<task>/<trial>/game.tw-pddl` tree.

Where a split is looked for, in order: `data_dir=` (the caller's folder) > `$ALFWORLD_DATA`
(alfworld's own variable) > the data layer (`$RERST_DATA_DIR/alfworld`, then the user cache
`~/.cache/rerest/alfworld`) > the official release download into that cache. Each place may hold the
tree itself or the archives of it (`json_2.1.1_<split>.tar.xz` as in `../shared/data/alfworld`, or
the official zip). An archive found through the data layer is unpacked once into the user cache,
in a folder keyed by the archive itself (`<cache>/alfworld/unpacked/<key>/json_2.1.1/<split>`, key =
sha256 of its resolved path, size and modification time), so a different or updated archive is never
answered with an older unpack. An archive in an explicit `data_dir=` is the user's own: it is
unpacked into a private temporary folder of this process (removed at exit), never copied into the
cache. alfworld itself silently plays nothing when a path is wrong, so finding zero games is a
one-line `DataNotFound` naming the path.

A game is kept exactly as `AlfredTWEnv.collect_game_files` keeps it (alfworld 0.4.2): the trial has
`traj_data.json` and `game.tw-pddl`, the path holds neither `movable` nor `Sliced`, the task type is
selected, and the game says `"solvable": true`. This gives 134 games for `valid_unseen` and 200 for
`valid_train`.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import tarfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rerest_envs.alfworld.tasks import parse_task_types, task_type_of_folder
from rerest_envs.data import DATA_DIR_ENV, cache_root, download_file
from rerest_envs.errors import DataNotFound

TASK = "alfworld"
DATA_VERSION = "json_2.1.1"
#: alfworld's variable for its data root (`$ALFWORLD_DATA/json_2.1.1/<split>`).
ALFWORLD_DATA_ENV = "ALFWORLD_DATA"
#: The official splits (`valid_seen` is the in-distribution evaluation set).
SPLITS = ("valid_unseen", "valid_train", "valid_seen", "train")
GAME_FILE, TRAJ_FILE = "game.tw-pddl", "traj_data.json"
#: The official release zip holding every split's tw-pddl games (what alfworld 0.4.2's `alfworld-download`
#: fetches; it unpacks to `json_2.1.1/<split>/...`, in the 0.4 grammar, which the engine maps back to `put`).
OFFICIAL_ZIP = "json_2.1.3_tw-pddl.zip"
OFFICIAL_URL = f"https://github.com/alfworld/alfworld/releases/download/0.4.2/{OFFICIAL_ZIP}"

_SOLVABLE = re.compile(r'"solvable"\s*:\s*(true|false)')


@dataclass(frozen=True)
class GameRecord:
    """One playable game.

    Attributes:
        task_id: `<task folder>/<trial folder>`, unique within a split.
        task_type: The official task type (`pick_heat_then_place_in_recep`).
        game_file: Path of `game.tw-pddl`.
        traj_file: Path of `traj_data.json` (the expert plan and task parameters).
    """

    task_id: str
    task_type: str
    game_file: Path
    traj_file: Path


def is_solvable(game_file: Path) -> bool:
    """Whether a game file says `"solvable": true` (reads its tail first; parses it only if needed)."""
    with open(game_file, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 4096))
        tail = f.read()
    return _solvable(tail, game_file.read_bytes)


def _solvable(tail: bytes, whole: Callable[[], bytes]) -> bool:
    found = _SOLVABLE.findall(tail.decode("utf-8", "replace"))
    if found:
        return found[-1] == "true"
    try:
        return bool(json.loads(whole()).get("solvable", False))
    except (OSError, ValueError):
        return False


def _kept(rel: str) -> bool:
    """AlfredTWEnv leaves out trials whose path names movable receptacles or sliced objects."""
    return "movable" not in rel and "Sliced" not in rel


def collect_games(folder: Path, task_types: Iterable[str] | None = None) -> list[GameRecord]:
    """The playable games under a split folder, sorted by task id (AlfredTWEnv's filter)."""
    wanted = set(parse_task_types(task_types))
    games = []
    for traj in sorted(folder.glob(f"*/*/{TRAJ_FILE}")):
        trial = traj.parent
        rel = f"{trial.parent.name}/{trial.name}"
        if not _kept(rel):
            continue
        task_type = task_type_of_folder(trial.parent.name) or _traj_task_type(traj.read_bytes)
        game = trial / GAME_FILE
        if task_type in wanted and game.is_file() and is_solvable(game):
            games.append(GameRecord(rel, task_type, game, traj))
    return games


def count_archived_games(archive: Path, split: str) -> int:
    """How many games `collect_games` would find in `split` once `archive` (a `.tar.xz`) is unpacked.

    Read in one pass in memory, nothing written: for a look at the data (`rerest doctor`) without
    filling the cache.
    """
    prefix = f"{DATA_VERSION}/{split}/"
    trajs: dict[str, str] = {}  # trial -> task type
    solvable: set[str] = set()
    with tarfile.open(archive) as tf:
        for member in tf:
            parts = member.name[len(prefix):].split("/") if member.name.startswith(prefix) else []
            if not member.isfile() or len(parts) != 3 or parts[2] not in (TRAJ_FILE, GAME_FILE) or not _kept("/".join(parts[:2])):
                continue
            rel, read = "/".join(parts[:2]), tf.extractfile(member).read  # type: ignore[union-attr]
            if parts[2] == TRAJ_FILE:
                trajs[rel] = task_type_of_folder(parts[0]) or _traj_task_type(read)
            elif _solvable((data := read())[-4096:], lambda: data):
                solvable.add(rel)
    wanted = set(parse_task_types(None))
    return sum(1 for rel, task_type in trajs.items() if task_type in wanted and rel in solvable)


def _traj_task_type(read: Callable[[], bytes]) -> str:
    try:
        return str(json.loads(read()).get("task_type", ""))
    except (OSError, ValueError):
        return ""


def find_games(split: str | os.PathLike[str] = "valid_unseen", data_dir: str | os.PathLike[str] | None = None, *,
               task_types: Iterable[str] | str | None = None, download: bool = True) -> list[GameRecord]:
    """The playable games of a split.

    Args:
        split: An official split name (`valid_unseen`, `valid_train`, `valid_seen`, `train`), or the
            path of a split folder (`.../json_2.1.1/train`, e.g. one written by the generator).
        data_dir: Folder holding `json_2.1.1/` (or its archives); default: `$ALFWORLD_DATA`, then the
            data layer.
        task_types: Task types to keep (any spelling `parse_task_types` accepts); None keeps all six.
        download: Allow fetching the official release zip into the user cache as a last resort.

    Raises:
        DataNotFound: the split is nowhere, or its folder holds no playable game.
    """
    folder = split_folder(split, data_dir, download=download)
    games = collect_games(folder, task_types)
    if not games:
        selected = "" if task_types is None else f" of task types {list(parse_task_types(task_types))}"
        raise DataNotFound(f"No playable ALFWorld game{selected} under {folder} (expected <task>/<trial>/{GAME_FILE} "
                           f"with {TRAJ_FILE} beside it and \"solvable\": true); point data_dir= or ${ALFWORLD_DATA_ENV} "
                           f"at the folder holding {DATA_VERSION}/, or generate games with scripts/alfworld_generate.py.")
    return games


def split_folder(split: str | os.PathLike[str], data_dir: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """The folder of a split's task folders, unpacking or downloading archives when needed."""
    split_str = os.fspath(split)
    if split_str not in SPLITS:
        path = Path(split_str).expanduser()
        if path.is_dir():
            return path
        raise DataNotFound(f"split={split_str!r} is neither an ALFWorld split {list(SPLITS)} nor an existing folder; "
                           f"pass one of the splits or the path of a folder of <task>/<trial>/{GAME_FILE}.")
    roots: list[tuple[str, Path]] = []
    if data_dir is not None:
        roots.append(("data_dir", Path(data_dir).expanduser()))
    else:
        if os.environ.get(ALFWORLD_DATA_ENV):
            roots.append((f"${ALFWORLD_DATA_ENV}", Path(os.environ[ALFWORLD_DATA_ENV]).expanduser()))
        if os.environ.get(DATA_DIR_ENV):
            roots.append((f"${DATA_DIR_ENV}", Path(os.environ[DATA_DIR_ENV]).expanduser() / TASK))
        roots.append(("the user cache", cache_root() / TASK))
    for name, root in roots:
        found = _split_in_root(root, split_str, private=name == "data_dir")
        if found is not None:
            return found
    looked = "; ".join(f"{name} {root}" for name, root in roots)
    if data_dir is None and download:
        return _download_split(split_str, looked)
    raise DataNotFound(f"ALFWorld split {split_str!r} not found (looked in {looked}): pass data_dir= or set "
                       f"${ALFWORLD_DATA_ENV} to a folder holding {DATA_VERSION}/{split_str}/ or {DATA_VERSION}_{split_str}.tar.xz"
                       f"{'' if data_dir is not None else ', or allow download=True (the official release zip, network needed)'}.")


def archive_key(archive: Path) -> str:
    """What identifies an archive's unpack: sha256 of its resolved path, size and mtime (16 hex digits)."""
    resolved = archive.resolve()
    stat = resolved.stat()
    return hashlib.sha256(f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


_PRIVATE_LOCK = threading.Lock()
_private_root: Path | None = None


def _private_unpack_root() -> Path:
    """This process's temporary folder for archives of an explicit `data_dir=` (removed at exit)."""
    global _private_root
    with _PRIVATE_LOCK:
        if _private_root is None:
            _private_root = Path(tempfile.mkdtemp(prefix="rerest-alfworld-"))
            atexit.register(shutil.rmtree, _private_root, True)
        return _private_root


def _split_in_root(root: Path, split: str, *, private: bool = False) -> Path | None:
    """`root/json_2.1.1/<split>`, `root/<split>` (root is json_2.1.1) or an archive of it, unpacked.

    Args:
        private: unpack archives into this process's temporary folder, not the user cache (for a
            caller's explicit `data_dir=`).
    """
    for candidate in (root / DATA_VERSION / split, root / split if root.name == DATA_VERSION else None):
        if candidate is not None and candidate.is_dir():
            return candidate
    for archive in (root / f"{DATA_VERSION}_{split}.tar.xz", root / OFFICIAL_ZIP):
        if archive.is_file():
            dest = (_private_unpack_root() if private else cache_root() / TASK / "unpacked") / archive_key(archive)
            unpacked = dest / DATA_VERSION / split
            if not unpacked.is_dir():
                unpack(archive, dest, split)
            if unpacked.is_dir():
                return unpacked
    return None


def unpack(archive: Path, dest_root: Path, split: str) -> None:
    """Unpack the `json_2.1.1/<split>/` members of `archive` into `dest_root`, atomically per split.

    Bytes go to a private temporary folder that is renamed into place when complete, so a killed
    unpack or two processes unpacking at once never leave a half-filled split behind.
    """
    prefix = f"{DATA_VERSION}/{split}/"
    tmp = dest_root / f".unpack-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp, [n for n in zf.namelist() if n.startswith(prefix) and ".." not in n])
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, [m for m in tf.getmembers() if m.name.startswith(prefix)], filter="data")
        if (tmp / prefix).is_dir():
            (dest_root / DATA_VERSION).mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp / prefix, dest_root / prefix)
            except OSError:
                if not (dest_root / prefix).is_dir():  # lost a race: another process put it there first
                    raise
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as e:
        raise DataNotFound(f"Unpacking {archive} into {dest_root} failed ({e}); check the archive or free disk space.") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download_split(split: str, looked: str) -> Path:
    """Fetch the official tw-pddl release zip into the user cache and unpack the split."""
    dest = cache_root() / TASK
    fix = (f"pass data_dir= or set ${ALFWORLD_DATA_ENV} to a folder holding {DATA_VERSION}/{split}/ "
           f"(looked in {looked}), or generate games offline with scripts/alfworld_generate.py")
    download_file(OFFICIAL_URL, dest / OFFICIAL_ZIP, fix=fix)
    found = _split_in_root(dest, split)
    if found is None:
        raise DataNotFound(f"The official {OFFICIAL_ZIP} has no {DATA_VERSION}/{split}/; {fix}.")
    return found
