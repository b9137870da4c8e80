"""The other two backends: the live Wikipedia API (against a local MediaWiki imitation on 127.0.0.1)
and the official abstracts dump (a small dump in the official layout)."""

from __future__ import annotations

import bz2
import io
import json
import socket
import tarfile
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rerest_envs.hotpotqa import BM25Corpus, HotpotQAEnv, WikipediaCorpus, read_abstracts_dump

TASK = "5a8b57f25542995d1e6f1371"  # Were Scott Derrickson and Ed Wood of the same nationality?
ED_WOOD = ("Edward Davis Wood Jr. (October 10, 1924 – December 10, 1978) was an American filmmaker, actor, and author. "
           "In the 1950s, Wood directed several low-budget films. He was born in Poughkeepsie, New York.\n\n"
           "== Career ==\nWood moved to Hollywood in 1947. He made Glen or Glenda in 1953. "
           "His films were later praised. Wood died in 1978 in North Hollywood.")
PAGES = {"Ed Wood": ED_WOOD, "Ed Wood (film)": "Ed Wood is a 1994 American film directed by Tim Burton.",
         "Ed Wood (disambiguation)": "Ed Wood may refer to:\nEd Wood, filmmaker"}
REDIRECTS = {"Edward D. Wood Jr.": "Ed Wood"}


class FakeMediaWiki(BaseHTTPRequestHandler):
    """Answers the two api.php queries WikipediaCorpus sends, as MediaWiki does (formatversion=2)."""

    requests: list[dict[str, str]] = []
    failures_left = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
        type(self).requests.append({**params, "user_agent": self.headers.get("User-Agent", "")})
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_error(503, "Service Unavailable")
            return
        assert params.get("format") == "json" and params.get("formatversion") == "2" and params.get("action") == "query"
        if params.get("list") == "search":
            words = params["srsearch"].lower().split()
            hits = [{"ns": 0, "title": t} for t in PAGES if any(w in t.lower() for w in words)][: int(params["srlimit"])]
            body = {"batchcomplete": True, "query": {"searchinfo": {"totalhits": len(hits)}, "search": hits}}
        else:
            title = params["titles"]
            query: dict = {}
            if title in REDIRECTS:
                query["redirects"] = [{"from": title, "to": REDIRECTS[title]}]
                title = REDIRECTS[title]
            if title in PAGES:
                page = {"pageid": 1, "ns": 0, "title": title, "extract": PAGES[title]}
                if "disambiguation" in title:
                    page["pageprops"] = {"disambiguation": ""}
            else:
                page = {"ns": 0, "title": title, "missing": True}
            body = {"batchcomplete": True, "query": {**query, "pages": [page]}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def api_url() -> Iterator[str]:
    FakeMediaWiki.requests, FakeMediaWiki.failures_left = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMediaWiki)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/w/api.php"
    server.shutdown()
    server.server_close()


def test_wikipedia_backend_plays_an_episode(api_url: str) -> None:
    env = HotpotQAEnv(split="dev", backend="wikipedia", wikipedia_api_url=api_url, page_sentences=2)
    obs, info = env.reset(options={"task_id": TASK})
    assert info["backend"] == "wikipedia"
    obs = env.step("Search[Edward D. Wood Jr.]")[0]  # a redirect
    assert obs == ("Edward Davis Wood Jr. (October 10, 1924 – December 10, 1978) was an American filmmaker, actor, and author. "
                   "In the 1950s, Wood directed several low-budget films.")
    assert env.step("Lookup[1978]")[0] == "(Result 1 / 2) Edward Davis Wood Jr. (October 10, 1924 – December 10, 1978) was an American filmmaker, actor, and author."
    assert env.step("Lookup[1978]")[0] == "(Result 2 / 2) Wood died in 1978 in North Hollywood."  # past the section heading
    assert env.step("Search[Ed Wood (disambiguation)]")[0] == "Could not find [Ed Wood (disambiguation)]. Similar: ['Ed Wood', 'Ed Wood (film)', 'Ed Wood (disambiguation)']"
    assert env.step("Search[Nonexistent]")[0] == "Could not find [Nonexistent]. Similar: []"
    assert env.step("Finish[yes]")[1] == 1.0
    assert FakeMediaWiki.requests and all(r["user_agent"].startswith("rerest/") for r in FakeMediaWiki.requests)
    count = len(FakeMediaWiki.requests)
    env.reset(options={"task_id": TASK})
    env.step("Search[Edward D. Wood Jr.]")
    assert len(FakeMediaWiki.requests) == count  # answered from the instance cache


def test_wikipedia_retries_then_succeeds(api_url: str) -> None:
    FakeMediaWiki.failures_left = 2
    corpus = WikipediaCorpus(api_url, retries=2, backoff=0.01, user_agent="rerest-test/1 (test@example.org)")
    assert corpus.page("Ed Wood (film)") is not None
    assert len(FakeMediaWiki.requests) == 3 and FakeMediaWiki.requests[-1]["user_agent"] == "rerest-test/1 (test@example.org)"


def test_unreachable_wikipedia_is_an_observation_not_a_crash() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: connections are refused
    corpus = WikipediaCorpus(f"http://127.0.0.1:{port}/w/api.php", retries=1, backoff=0.01, timeout=2)
    env = HotpotQAEnv(split="dev", backend=corpus)
    env.reset(options={"task_id": TASK})
    obs, reward, terminated, _, info = env.step("Search[Ed Wood]")
    assert obs == "Could not find that page, please try again." and not terminated
    assert "WikipediaUnavailable" in info["backend_error"] and "2 attempt(s)" in info["backend_error"]


def _dump_lines(pages: list[tuple[str, list[str]]]) -> bytes:
    return "".join(json.dumps({"id": str(i), "url": f"https://en.wikipedia.org/wiki?curid={i}", "title": t, "text": s,
                               "charoffset": [], "text_with_links": s}) + "\n" for i, (t, s) in enumerate(pages)).encode()


def test_abstracts_dump_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    part1 = [("Ed Wood", ["Edward Davis Wood Jr. was an American filmmaker.", " He was born in 1924."]),
             ("Scott Derrickson", ["Scott Derrickson (born July 16, 1966) is an American director."])]
    part2 = [("Doctor Strange (2016 film)", ["Doctor Strange is a 2016 American superhero film."]), ("Empty", [])]
    dump = tmp_path / "enwiki-20171001-pages-meta-current-withlinks-abstracts.tar.bz2"
    with tarfile.open(dump, "w:bz2") as tar:
        for name, pages in (("AA/wiki_00.bz2", part1), ("AB/wiki_00.bz2", part2)):
            data = bz2.compress(_dump_lines(pages))
            member = tarfile.TarInfo(f"enwiki-20171001-pages-meta-current-withlinks-abstracts/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    assert [p.title for p in read_abstracts_dump(dump)] == ["Ed Wood", "Scott Derrickson", "Doctor Strange (2016 film)"]
    extracted = tmp_path / "extracted" / "AA"
    extracted.mkdir(parents=True)
    (extracted / "wiki_00.bz2").write_bytes(bz2.compress(_dump_lines(part1)))
    assert [p.title for p in read_abstracts_dump(tmp_path / "extracted")] == ["Ed Wood", "Scott Derrickson"]

    env = HotpotQAEnv(split="dev", backend="abstracts", abstracts_path=dump)
    env.reset(options={"task_id": TASK})
    assert env.step("Search[ed wood]")[0] == "Edward Davis Wood Jr. was an American filmmaker. He was born in 1924."
    assert env.step("Search[american superhero film]")[0] == "Could not find [american superhero film]. Similar: ['Doctor Strange (2016 film)', 'Scott Derrickson', 'Ed Wood']"
    assert any(p.name.startswith("abstracts-pages-") for p in (tmp_path / "cache" / "hotpotqa" / "index").iterdir())
    assert len(BM25Corpus.from_abstracts_dump(dump)) == 3
