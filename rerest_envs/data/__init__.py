"""The data layer: where each env finds its files, and how official files reach the user cache.

One entry point, `resolve_data_dir(task, data_dir, required=..., download=...)`, so that every env
resolves data in the same order (explicit `data_dir=` > `$RERST_DATA_DIR/<task>` > the user cache >
a download of the official files > a one-line `DataNotFound`) and fails with the same words.

Environment variables:
    RERST_DATA_DIR: folder with one subfolder per task (`$RERST_DATA_DIR/mbpp/mbpp.jsonl`).
    RERST_CACHE_DIR: cache root (default `$XDG_CACHE_HOME/rerest` or `~/.cache/rerest`).
    RERST_DATA_MIRROR: base URL (or folder) that replaces upstream URLs: files of task `<task>` are
        fetched from `$RERST_DATA_MIRROR/<task>/<name>`.
"""

from rerest_envs.data.download import MIRROR_ENV, download_file, download_task, file_url, sha256_file
from rerest_envs.data.locate import CACHE_DIR_ENV, DATA_DIR_ENV, cache_root, missing_files, resolve_data_dir
from rerest_envs.data.manifests import MANIFESTS, RemoteFile, TaskManifest, get_manifest, register_manifest

__all__ = [
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "MANIFESTS",
    "MIRROR_ENV",
    "RemoteFile",
    "TaskManifest",
    "cache_root",
    "download_file",
    "download_task",
    "file_url",
    "get_manifest",
    "missing_files",
    "register_manifest",
    "resolve_data_dir",
    "sha256_file",
]
