"""The data layer against real sockets: a local HTTP server serves ../shared/data as a mirror.

Nothing is mocked: downloads go through urllib to a ThreadingHTTPServer on 127.0.0.1, whose handler
can also answer 503 or drop the connection halfway through a body, to exercise retries and the
"no complete-looking file after a failure" guarantee. The cache always lives under tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rerest_envs.data import (
    MANIFESTS,
    RemoteFile,
    TaskManifest,
    cache_root,
    download_file,
    resolve_data_dir,
)
from rerest_envs.errors import DataNotFound, DownloadError

SHARED_DATA = Path(os.environ.get("RERST_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
MBPP_FILES = ("mbpp.jsonl", "sanitized-mbpp.json")

pytestmark = pytest.mark.skipif(not (SHARED_DATA / "mbpp" / "mbpp.jsonl").is_file(), reason=f"no MBPP data under {SHARED_DATA}")


# -- a real HTTP server over ../shared/data ------------------------------------------------------


@dataclass
class Server:
    """What the tests see of the running server."""

    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, User-Agent)
    #: path -> what to do on each successive GET: "ok", "drop" (half the body, then close), "503".
    plan: dict[str, list[str]] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer  # with a `state: Server` attribute

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        state: Server = self.server.state  # type: ignore[attr-defined]
        state.requests.append((self.path, self.headers.get("User-Agent", "")))
        steps = state.plan.get(self.path)
        action = steps.pop(0) if steps else "ok"
        target = (SHARED_DATA / self.path.lstrip("/")).resolve()
        if action == "503":
            self.send_error(503, "Service Unavailable")
            return
        if SHARED_DATA.resolve() not in target.parents or not target.is_file():
            self.send_error(404, "Not Found")
            return
        body = target.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if action == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def _http_server() -> Iterator[tuple[ThreadingHTTPServer, Server]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    httpd.state = Server(url=f"http://{host}:{port}")  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, name="data-mirror", daemon=True)
    thread.start()
    yield httpd, httpd.state  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def server(_http_server: tuple[ThreadingHTTPServer, Server]) -> Server:
    """The module's server with a fresh request log and plan."""
    _, state = _http_server
    state.requests.clear()
    state.plan.clear()
    return state


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no data dir, no mirror and an empty cache under tmp_path."""
    monkeypatch.delenv("RERST_DATA_DIR", raising=False)
    monkeypatch.delenv("RERST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part")) if folder.exists() else []


def _fake_task_folder(folder: Path, names: tuple[str, ...] = MBPP_FILES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("not the real file\n")
    return folder


def _pin_mbpp(monkeypatch: pytest.MonkeyPatch, **overrides: RemoteFile) -> TaskManifest:
    """Replace the mbpp manifest for one test (files by name; others keep their entry)."""
    original = MANIFESTS["mbpp"]
    files = tuple(overrides.pop(f.name, f) for f in original.files) + tuple(overrides.values())
    manifest = TaskManifest(title=original.title, files=files, source=original.source)
    monkeypatch.setitem(MANIFESTS, "mbpp", manifest)
    return manifest


# -- downloads -----------------------------------------------------------------------------------


def test_mirror_download_fills_cache_with_identical_files(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    folder = resolve_data_dir("mbpp")
    assert folder == cache_root() / "mbpp"
    for name in MBPP_FILES:
        assert (folder / name).read_bytes() == (SHARED_DATA / "mbpp" / name).read_bytes()
        assert (folder / f"{name}.sha256").read_text() == f"{_sha(SHARED_DATA / 'mbpp' / name)}  {name}\n"
    assert sorted(path for path, _ in server.requests) == ["/mbpp/mbpp.jsonl", "/mbpp/sanitized-mbpp.json"]
    assert all(agent.startswith("rerest/") for _, agent in server.requests)
    assert _leftovers(folder) == []


def test_unpinned_download_logs_its_checksum(server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with caplog.at_level("INFO", logger="rerest_envs.data"):
        resolve_data_dir("mbpp", required=["mbpp.jsonl"])
    assert _sha(SHARED_DATA / "mbpp" / "mbpp.jsonl") in caplog.text
    assert "not pinned" in caplog.text


def test_folder_mirror_works_without_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_DATA_MIRROR", str(SHARED_DATA))  # a plain path is read as file://
    folder = resolve_data_dir("mbpp", required=["sanitized-mbpp.json"])
    assert (folder / "sanitized-mbpp.json").read_bytes() == (SHARED_DATA / "mbpp" / "sanitized-mbpp.json").read_bytes()
    assert not (folder / "mbpp.jsonl").exists()  # only what was required is fetched


def test_pinned_correct_checksum_passes(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    source = SHARED_DATA / "mbpp" / "mbpp.jsonl"
    _pin_mbpp(monkeypatch, **{"mbpp.jsonl": RemoteFile("mbpp.jsonl", "https://invalid.example/mbpp.jsonl", _sha(source), source.stat().st_size)})
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    folder = resolve_data_dir("mbpp", required=["mbpp.jsonl"])
    assert (folder / "mbpp.jsonl").read_bytes() == source.read_bytes()


def test_wrong_checksum_raises_and_leaves_no_file(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _pin_mbpp(monkeypatch, **{"mbpp.jsonl": RemoteFile("mbpp.jsonl", "https://invalid.example/mbpp.jsonl", "0" * 64)})
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with pytest.raises(DownloadError, match="Checksum mismatch") as excinfo:
        resolve_data_dir("mbpp", required=["mbpp.jsonl"])
    assert "0" * 64 in str(excinfo.value) and f"{server.url}/mbpp/mbpp.jsonl" in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    folder = cache_root() / "mbpp"
    assert not (folder / "mbpp.jsonl").exists() and not (folder / "mbpp.jsonl.sha256").exists()
    assert _leftovers(folder) == []
    assert len(server.requests) == 1  # a checksum mismatch is not retried


def test_wrong_size_raises_and_leaves_no_file(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _pin_mbpp(monkeypatch, **{"mbpp.jsonl": RemoteFile("mbpp.jsonl", "https://invalid.example/mbpp.jsonl", size=12)})
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with pytest.raises(DownloadError, match="manifest expects 12"):
        resolve_data_dir("mbpp", required=["mbpp.jsonl"])
    assert not (cache_root() / "mbpp" / "mbpp.jsonl").exists()


def test_404_names_the_url_and_the_fix(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _pin_mbpp(monkeypatch, **{"no-such-file.json": RemoteFile("no-such-file.json", "https://invalid.example/x")})
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with pytest.raises(DownloadError) as excinfo:
        resolve_data_dir("mbpp", required=["no-such-file.json"])
    message = str(excinfo.value)
    assert f"{server.url}/mbpp/no-such-file.json" in message and "404" in message
    assert "RERST_DATA_MIRROR" in message and "RERST_DATA_DIR" in message and "\n" not in message
    assert len(server.requests) == 1  # 404 is permanent: no retries
    assert not (cache_root() / "mbpp" / "no-such-file.json").exists()


def test_interrupted_download_leaves_nothing_and_a_retry_succeeds(server: Server, tmp_path: Path) -> None:
    url = f"{server.url}/mbpp/mbpp.jsonl"
    dest = tmp_path / "dl" / "mbpp.jsonl"
    server.plan["/mbpp/mbpp.jsonl"] = ["drop"]
    with pytest.raises(DownloadError, match="connection") as excinfo:
        download_file(url, dest, retries=0)
    assert url in str(excinfo.value)
    assert not dest.exists() and _leftovers(dest.parent) == []
    download_file(url, dest, retries=0)  # the server now answers in full
    assert dest.read_bytes() == (SHARED_DATA / "mbpp" / "mbpp.jsonl").read_bytes()
    assert _leftovers(dest.parent) == []


def test_transient_failures_are_retried_with_backoff(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl" / "sanitized-mbpp.json"
    server.plan["/mbpp/sanitized-mbpp.json"] = ["drop", "503"]
    digest = download_file(f"{server.url}/mbpp/sanitized-mbpp.json", dest, retries=2, backoff=0.01)
    assert digest == _sha(SHARED_DATA / "mbpp" / "sanitized-mbpp.json") == _sha(dest)
    assert [path for path, _ in server.requests] == ["/mbpp/sanitized-mbpp.json"] * 3


def test_unreachable_host_fails_after_retries(tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as closed:  # bind a port, then free it
        port = closed.server_address[1]
    url = f"http://127.0.0.1:{port}/mbpp/mbpp.jsonl"
    with pytest.raises(DownloadError, match="after 2 attempts") as excinfo:
        download_file(url, tmp_path / "x.jsonl", retries=1, backoff=0.01, timeout=5)
    assert url in str(excinfo.value) and "RERST_DATA_MIRROR" in str(excinfo.value)
    assert list(tmp_path.iterdir()) == []


# -- resolution order: explicit > $RERST_DATA_DIR > cache > download > error ----------------------


def test_explicit_data_dir_wins_over_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    explicit = _fake_task_folder(tmp_path / "mine")
    _fake_task_folder(cache_root() / "mbpp")
    monkeypatch.setenv("RERST_DATA_DIR", str(SHARED_DATA))
    assert resolve_data_dir("mbpp", explicit, required=["mbpp.jsonl"]) == explicit


def test_explicit_data_dir_must_hold_the_required_files(tmp_path: Path) -> None:
    explicit = _fake_task_folder(tmp_path / "mine", ("mbpp.jsonl",))
    with pytest.raises(DataNotFound, match="sanitized-mbpp.json"):
        resolve_data_dir("mbpp", explicit, required=MBPP_FILES)
    with pytest.raises(DataNotFound, match="is not a folder"):
        resolve_data_dir("mbpp", tmp_path / "absent")


def test_explicit_parent_folder_gets_a_hint() -> None:
    with pytest.raises(DataNotFound, match="did you mean data_dir=") as excinfo:
        resolve_data_dir("mbpp", SHARED_DATA, required=["mbpp.jsonl"])
    assert str(SHARED_DATA / "mbpp") in str(excinfo.value)


def test_env_var_wins_over_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_task_folder(cache_root() / "mbpp")
    monkeypatch.setenv("RERST_DATA_DIR", str(SHARED_DATA))
    assert resolve_data_dir("mbpp", required=MBPP_FILES) == SHARED_DATA / "mbpp"


def test_env_var_without_the_task_folder_falls_through_to_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cached = _fake_task_folder(cache_root() / "mbpp")
    (tmp_path / "other-data").mkdir()
    monkeypatch.setenv("RERST_DATA_DIR", str(tmp_path / "other-data"))
    assert resolve_data_dir("mbpp", required=MBPP_FILES) == cached


def test_env_var_task_folder_missing_files_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_task_folder(tmp_path / "data" / "mbpp", ("mbpp.jsonl",))
    monkeypatch.setenv("RERST_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DataNotFound, match=r"RERST_DATA_DIR=.*sanitized-mbpp.json"):
        resolve_data_dir("mbpp", required=MBPP_FILES)


def test_complete_cache_wins_over_download(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = _fake_task_folder(cache_root() / "mbpp")
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    assert resolve_data_dir("mbpp") == cached
    assert server.requests == []
    assert (cached / "mbpp.jsonl").read_text() == "not the real file\n"


def test_incomplete_cache_downloads_only_the_missing_files(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = _fake_task_folder(cache_root() / "mbpp", ("mbpp.jsonl",))
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    assert resolve_data_dir("mbpp") == cached
    assert [path for path, _ in server.requests] == ["/mbpp/sanitized-mbpp.json"]
    assert (cached / "mbpp.jsonl").read_text() == "not the real file\n"
    assert (cached / "sanitized-mbpp.json").read_bytes() == (SHARED_DATA / "mbpp" / "sanitized-mbpp.json").read_bytes()


def test_no_data_and_no_download_is_a_one_line_error(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with pytest.raises(DataNotFound) as excinfo:
        resolve_data_dir("mbpp", required=["mbpp.jsonl"], download=False)
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("MBPP data not found")
    assert "RERST_DATA_DIR" in message and "mbpp/" in message and "data_dir=" in message and "download=True" in message
    assert server.requests == []


def test_task_without_manifest_is_a_one_line_error() -> None:
    with pytest.raises(DataNotFound) as excinfo:
        resolve_data_dir("some-task", required=["records.jsonl"])
    message = str(excinfo.value)
    assert "\n" not in message and "RERST_DATA_DIR" in message and "some-task/" in message
    assert "no official download" in message


def test_required_file_outside_the_manifest_is_not_downloaded(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_DATA_MIRROR", server.url)
    with pytest.raises(DataNotFound, match=r"official download lacks \['splits.json'\].*RERST_DATA_DIR"):
        resolve_data_dir("mbpp", required=["mbpp.jsonl", "splits.json"])
    assert server.requests == []


@pytest.mark.parametrize("task", ["", "..", "a/b"])
def test_task_must_be_a_folder_name(task: str) -> None:
    with pytest.raises(ValueError, match="plain folder name"):
        resolve_data_dir(task)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"name": "../x"}, "relative path"), ({"name": "/abs"}, "relative path"), ({"sha256": "abc"}, "64 lowercase hex"), ({"size": -1}, ">= 0")],
)
def test_remote_file_rejects_bad_fields(kwargs: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {"name": "f.json", "url": "https://example.org/f.json", **kwargs}
    with pytest.raises(ValueError, match=match):
        RemoteFile(**fields)  # type: ignore[arg-type]
