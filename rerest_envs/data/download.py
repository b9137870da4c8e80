"""Fetching a task's official files into a folder: atomic, checked, retried, with a progress bar.

Every env falls back on this when no local copy of its data exists, and the result lands in a cache
that later runs trust. So a download never leaves a file that looks complete unless it is: bytes go
to `<name>.<random>.part` next to the destination and are renamed into place (`os.replace`, atomic)
only after the byte count and the checksum check out. Network errors, timeouts and 5xx/429 answers
are retried with exponential backoff; everything else (HTTP 4xx, unknown host, missing file,
checksum mismatch) fails at once. Every failure is one `DownloadError` sentence with the URL, the
reason and the fix.

After a download, `<name>.sha256` (in `sha256sum` format) records the digest that was seen; for a
file the manifest does not pin, that digest is also logged so a maintainer can pin it.

Mirrors: set `RERST_DATA_MIRROR` (or pass `mirror=`) to a base URL, and every file of task `<task>`
is fetched from `$RERST_DATA_MIRROR/<task>/<name>` instead of its upstream URL. Any scheme urllib
reads works (`https://`, `http://`, `file://`); a plain folder path is read as a `file://` URL.
A copy of `../shared/data` served over HTTP, or the folder itself, is therefore a valid mirror.

Only the standard library (urllib) and tqdm are used; no session state is kept between calls.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.metadata
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path

from rerest_envs.data.manifests import RemoteFile, get_manifest
from rerest_envs.errors import DownloadError

logger = logging.getLogger(__name__)

#: Base URL that replaces every upstream URL: files come from `$RERST_DATA_MIRROR/<task>/<name>`.
MIRROR_ENV = "RERST_DATA_MIRROR"
#: Seconds a connect or a single read may block before the attempt counts as failed.
DEFAULT_TIMEOUT = 30.0
#: Extra attempts after a transient failure (network error, timeout, HTTP 408/425/429/5xx).
DEFAULT_RETRIES = 3
#: Seconds before the first retry; doubled before each further one.
DEFAULT_BACKOFF = 1.0
#: HTTP statuses worth retrying; any other error status fails at once.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

_CHUNK = 1 << 16


def _user_agent() -> str:
    try:
        version = importlib.metadata.version("rerest")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"rerest/{version} (data downloader; python-urllib)"


#: Sent with every request (some hosts refuse urllib's default agent).
USER_AGENT = _user_agent()


class _Transient(Exception):
    """One attempt failed in a way a retry may fix; carries the reason in words."""


def mirror_base(mirror: str | os.PathLike[str] | None = None) -> str | None:
    """The mirror base URL in use: `mirror` if given, else `$RERST_DATA_MIRROR`, else None.

    A plain folder path becomes a `file://` URL. An empty string means "no mirror".
    """
    value = os.fspath(mirror) if mirror is not None else os.environ.get(MIRROR_ENV, "")
    if not value:
        return None
    if "://" not in value:
        return Path(value).expanduser().resolve().as_uri()
    return value.rstrip("/")


def file_url(task: str, remote: RemoteFile, mirror: str | os.PathLike[str] | None = None) -> str:
    """Where `remote` of `task` is fetched from: `<mirror>/<task>/<name>` or its upstream URL."""
    base = mirror_base(mirror)
    if base is None:
        return remote.url
    return f"{base}/{urllib.parse.quote(task)}/{urllib.parse.quote(remote.name)}"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    size: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    progress: bool | None = None,
    fix: str = f"check the network connection or set {MIRROR_ENV} to a reachable mirror",
) -> str:
    """Download `url` to `dest` atomically and return the file's sha256.

    Args:
        url: What to fetch (http, https or file).
        dest: Final path; its folder is created. Nothing is written there unless the download is
            complete and matches `sha256` and `size`.
        sha256: Expected hex digest, or None to accept any content (the digest is then logged).
        size: Expected size in bytes, or None.
        timeout: Seconds a connect or a read may block.
        retries: Extra attempts after a transient failure.
        backoff: Seconds before the first retry, doubled each time.
        progress: Show a tqdm bar; None shows it only on a terminal.
        fix: What the user can do when the network side fails; ends every such error message.

    Returns:
        The hex sha256 of the downloaded file (also written to `<dest>.sha256`).

    Raises:
        DownloadError: HTTP error, network failure after all retries, size or checksum mismatch,
            or a local write error. No partial file is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    reason = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            logger.warning("Download of %s failed (%s); retry %d of %d in %.1f s.", url, reason, attempt, retries, delay)
            time.sleep(delay)
        try:
            digest = _fetch_once(url, dest, sha256=sha256, size=size, timeout=timeout, progress=progress, fix=fix)
        except _Transient as e:
            reason = str(e)
            continue
        sidecar = dest.with_name(dest.name + ".sha256")
        sidecar.write_text(f"{digest}  {dest.name}\n", encoding="ascii")
        if sha256 is None:
            logger.info("Downloaded %s to %s: sha256 %s (not pinned; recorded in %s).", url, dest, digest, sidecar.name)
        else:
            logger.info("Downloaded %s to %s: sha256 verified.", url, dest)
        return digest
    tries = f"{retries + 1} attempts" if retries else "1 attempt"
    raise DownloadError(f"Downloading {url} failed after {tries} ({reason}); {fix}.")


def _fetch_once(url: str, dest: Path, *, sha256: str | None, size: int | None, timeout: float, progress: bool | None, fix: str) -> str:
    """One attempt: stream to a `.part` file, check it, rename it into place; return its sha256."""
    part = dest.with_name(f"{dest.name}.{uuid.uuid4().hex[:8]}.part")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as e:
            e.close()
            if e.code in RETRY_STATUSES:
                raise _Transient(f"HTTP {e.code} {e.reason}") from e
            raise DownloadError(f"Downloading {url} failed: HTTP {e.code} {e.reason}; {fix}.") from e
        except urllib.error.URLError as e:
            unknown_host = isinstance(e.reason, socket.gaierror) and e.reason.errno == socket.EAI_NONAME
            if unknown_host or isinstance(e.reason, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise DownloadError(f"Downloading {url} failed: {e.reason}; {fix}.") from e
            raise _Transient(f"{e.reason}") from e
        except (http.client.HTTPException, ConnectionError, TimeoutError) as e:
            raise _Transient(f"{type(e).__name__}: {e}") from e

        from tqdm.auto import tqdm  # imported here so that `import rerest_envs` stays light

        digest = hashlib.sha256()
        received = 0
        with response:
            header = response.headers.get("Content-Length")
            expected = int(header) if header and header.isdigit() else size
            try:
                with open(part, "wb") as out, tqdm(
                    total=expected, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                    disable=None if progress is None else not progress, leave=False,
                ) as bar:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                    out.flush()
                    os.fsync(out.fileno())
            except (http.client.HTTPException, ConnectionError, TimeoutError) as e:
                raise _Transient(f"connection lost after {received} bytes: {type(e).__name__}") from e
            except OSError as e:
                raise DownloadError(f"Writing {part} failed ({e}); free some disk space or point RERST_CACHE_DIR at a writable folder.") from e
        if header and header.isdigit() and received != int(header):
            raise _Transient(f"connection closed after {received} of {header} bytes")
        if size is not None and received != size:
            raise DownloadError(
                f"Downloaded {url} is {received} bytes, the manifest expects {size}; the file changed upstream or the "
                f"mirror serves another version: update its size in rerest_envs/data/manifests.py if the change is expected."
            )
        found = digest.hexdigest()
        if sha256 is not None and found != sha256:
            raise DownloadError(
                f"Checksum mismatch for {url}: expected sha256 {sha256}, got {found} (file discarded); the file changed "
                f"upstream or was corrupted in transit: retry, or update its sha256 in rerest_envs/data/manifests.py if the change is expected."
            )
        os.replace(part, dest)
        return found
    finally:
        part.unlink(missing_ok=True)


def download_task(
    task: str,
    dest_dir: str | os.PathLike[str],
    *,
    names: Iterable[str] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    progress: bool | None = None,
    alternative: str = "",
) -> Path:
    """Download the official files of `task` (per its manifest) into `dest_dir`.

    Files already present are kept (not re-fetched, not re-checked).

    Args:
        task: Task folder name with a manifest (`mbpp`).
        dest_dir: Folder to fill (created if needed), usually `cache_root() / task`.
        names: Only these manifest files; None means all of them.
        mirror: Base URL overriding the upstream URLs; None reads `$RERST_DATA_MIRROR`.
        timeout: Seconds a connect or a read may block.
        retries: Extra attempts per file after a transient failure.
        backoff: Seconds before the first retry, doubled each time.
        progress: Show tqdm bars; None shows them only on a terminal.
        alternative: Another way out for the user, appended to network error messages
            (e.g. "or set RERST_DATA_DIR to a folder containing mbpp/").

    Returns:
        `dest_dir` as a Path.

    Raises:
        ValueError: `task` has no manifest, or `names` lists files it does not have.
        DownloadError: A file could not be fetched or did not match its checksum.
    """
    manifest = get_manifest(task)
    if manifest is None:
        raise ValueError(f"Task {task!r} has no download manifest; add one to rerest_envs.data.manifests.MANIFESTS.")
    wanted = set(manifest.names if names is None else names)
    unknown = wanted - set(manifest.names)
    if unknown:
        raise ValueError(f"{manifest.title} has no official file(s) {sorted(unknown)}; its files are {list(manifest.names)}.")
    dest_dir = Path(dest_dir)
    where = f"{mirror_base(mirror)}/{task}/" if mirror_base(mirror) else f"{manifest.source or 'upstream'}"
    for remote in manifest.files:
        target = dest_dir / remote.name
        if remote.name not in wanted or target.exists():
            continue
        url = file_url(task, remote, mirror)
        fix = f"check the network connection or set {MIRROR_ENV} to a mirror that serves {task}/{remote.name}"
        if alternative:
            fix = f"{fix}, or {alternative}"
        logger.info("Fetching %s %s from %s into %s.", manifest.title, remote.name, where, dest_dir)
        download_file(url, target, sha256=remote.sha256, size=remote.size, timeout=timeout, retries=retries,
                      backoff=backoff, progress=progress, fix=fix)
    return dest_dir
