"""Finding a task's data folder: the one place that decides where every env reads its files from.

Order (DESIGN.md §1): an explicit `data_dir=` > `$RERST_DATA_DIR/<task>` > the user cache
(`$RERST_CACHE_DIR/<task>`, else `$XDG_CACHE_HOME/rerest/<task>`, else `~/.cache/rerest/<task>`) >
a download of the task's official files into that cache > a one-line `DataNotFound` naming the fix.
Keeping this in one function means every env resolves data the same way and says the same thing
when it cannot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rerest_envs.data.download import MIRROR_ENV, download_task
from rerest_envs.data.manifests import get_manifest
from rerest_envs.errors import DataNotFound

#: Folder holding one subfolder per task (`$RERST_DATA_DIR/mbpp/mbpp.jsonl`).
DATA_DIR_ENV = "RERST_DATA_DIR"
#: Overrides the cache root (default `~/.cache/rerest`); downloads land in `<root>/<task>`.
CACHE_DIR_ENV = "RERST_CACHE_DIR"


def cache_root() -> Path:
    """The user cache root: `$RERST_CACHE_DIR`, else `$XDG_CACHE_HOME/rerest`, else `~/.cache/rerest`."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "rerest"


def missing_files(folder: str | os.PathLike[str], required: Sequence[str]) -> list[str]:
    """The entries of `required` (paths relative to `folder`) that do not exist there."""
    folder = Path(folder)
    return [name for name in required if not (folder / name).exists()]


def resolve_data_dir(
    task: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    required: Sequence[str] = (),
    download: bool = True,
) -> Path:
    """The folder holding `task`'s data files.

    Args:
        task: Task folder name (`mbpp`, `hotpotqa`, ...): the subfolder looked up under
            `$RERST_DATA_DIR` and the cache, and the key of the download manifest.
        data_dir: The folder itself (not its parent), given by the caller; wins over everything
            else and must hold `required`.
        required: Paths (relative to the task folder) that must exist. The cache counts as complete
            when they all exist (or, with `required` empty, when every manifest file exists).
        download: Allow fetching the official files into the cache when nothing local has them.

    Returns:
        The task folder.

    Raises:
        ValueError: `task` is not a plain folder name.
        DataNotFound: `data_dir` or `$RERST_DATA_DIR/<task>` lacks required files, or nothing local
            has the data and it cannot (or may not) be downloaded.
        DownloadError: The download was attempted and failed.

    Example:
        >>> folder = resolve_data_dir("mbpp", required=["mbpp.jsonl"])  # doctest: +SKIP
    """
    if not task or task in {".", ".."} or "/" in task or "\\" in task:
        raise ValueError(f"task must be a plain folder name such as 'mbpp', got {task!r}.")
    required = tuple(required)
    manifest = get_manifest(task)
    title = manifest.title if manifest else task
    files = f" ({', '.join(required)})" if required else ""

    # 1. The caller's folder.
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise DataNotFound(f"data_dir={str(folder)!r} is not a folder; pass the folder that holds the {title} files{files}.")
        missing = missing_files(folder, required)
        if missing:
            hint = f" (it has a {task}/ subfolder: did you mean data_dir={str(folder / task)!r}?)" if (folder / task).is_dir() else ""
            raise DataNotFound(f"data_dir={str(folder)!r} lacks the {title} file(s) {missing}; pass the folder that holds them{hint}.")
        return folder

    # 2. $RERST_DATA_DIR/<task>, when that folder exists.
    root = os.environ.get(DATA_DIR_ENV)
    if root:
        folder = Path(root).expanduser() / task
        if folder.is_dir():
            missing = missing_files(folder, required)
            if missing:
                raise DataNotFound(f"{DATA_DIR_ENV}={root!r} has a {task}/ folder without the {title} file(s) {missing}; add them there or point {DATA_DIR_ENV} elsewhere.")
            return folder

    # 3. The user cache, when complete.
    cache = cache_root() / task
    needed = required or (manifest.names if manifest else ())
    if cache.is_dir() and not missing_files(cache, needed):
        return cache

    # 4. Download the official files into the cache.
    elsewhere = f"pass data_dir=... or set {DATA_DIR_ENV} to a folder containing {task}/{files}"
    if manifest is not None and download:
        not_official = [name for name in required if name not in manifest.names]
        if not not_official:
            download_task(task, cache, names=required or None, alternative=elsewhere)
            return cache
        where = f"{title} data not found, and its official download lacks {not_official}"
        raise DataNotFound(f"{where}: {elsewhere}.")

    # 5. Nothing worked: one line naming the fix.
    looked = f"{DATA_DIR_ENV}={root!r} has no {task}/ folder" if root else f"{DATA_DIR_ENV} is not set"
    looked += f", cache {cache} {'incomplete' if cache.is_dir() else 'absent'}"
    if manifest is not None:
        fetch = ", ".join(manifest.names)
        raise DataNotFound(
            f"{title} data not found ({looked}, download disabled): {elsewhere}, "
            f"or allow the download (download=True) of {fetch} from {manifest.source or 'upstream'} into {cache} (network needed)."
        )
    raise DataNotFound(
        f"{title} data not found ({looked}, no official download for it): "
        f"{elsewhere}, or copy the files into {cache}."
    )


__all__ = ["CACHE_DIR_ENV", "DATA_DIR_ENV", "MIRROR_ENV", "cache_root", "missing_files", "resolve_data_dir"]
