"""Corpus backends: what `Search` and `Lookup` read. One interface, three sources.

A backend answers two questions: `page(title)` (the page whose title matches, or None) and
`similar(query, k)` (the titles a search engine would rank first). The env turns these into ReAct's
observations; a backend holds no episode state, so one backend may serve many envs.

  * `BM25Corpus` (`backend="local"`, the default): a title -> sentences "Wikipedia" built from the
    paragraphs of HotpotQA records (train + dev distractor records, deduplicated by title), ranked
    with BM25 (bm25s). The index is cached on disk under the user cache
    (`<cache_root>/hotpotqa/index/<fingerprint>/`) and in-process, so building an env again is cheap.
  * `BM25Corpus.from_abstracts_dump` (`backend="abstracts"`): the same over the official HotpotQA
    introductory-paragraph dump (`enwiki-20171001-pages-meta-current-withlinks-abstracts.tar.bz2`,
    5.2M pages), the full-wiki setting.
  * `WikipediaCorpus` (`backend="wikipedia"`, in `wikipedia.py`): the live MediaWiki API.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tarfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rerest_envs.data import cache_root

logger = logging.getLogger(__name__)

#: Bump when tokenisation or the document text changes: old on-disk indexes are then ignored.
INDEX_FORMAT = "bm25s-title2-text-v1"
#: Where the official abstracts dump is served (HotpotQA README, "full wiki" setting).
ABSTRACTS_DUMP_URL = "https://nlp.stanford.edu/projects/hotpotqa/enwiki-20171001-pages-meta-current-withlinks-abstracts.tar.bz2"

_TOKEN = re.compile(r"\w\w+")


@dataclass(frozen=True)
class Page:
    """One page: its title and its sentences (HotpotQA convention: later sentences may start with a space)."""

    title: str
    sentences: tuple[str, ...]


class Corpus(Protocol):
    """What the env needs from a backend."""

    name: str

    def page(self, title: str) -> Page | None:
        """The page whose title matches `title` (see `title_key`), or None."""

    def similar(self, query: str, k: int = 5) -> list[str]:
        """Up to `k` titles ranked for `query`, best first (empty when nothing matches)."""


def title_key(title: str) -> str:
    """How titles are matched: Unicode NFKC, case-folded, `_` as space, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().replace("_", " ").split())


def _fold(text: str) -> str:
    """Lowercase and strip accents, so `Beyonce` finds `Beyoncé`."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Lowercase accent-free word tokens of two or more characters, stopwords removed."""
    return [t for t in _TOKEN.findall(_fold(text)) if t not in stopwords]


def document_text(title: str, sentences: Iterable[str]) -> str:
    """What BM25 indexes for a page: the title twice (titles weigh more, as in a wiki search), then the text."""
    return f"{title} {title} {''.join(sentences)}"


def pages_from_records(records: Iterable) -> dict[str, tuple[str, ...]]:
    """title -> sentences over the records' `context`; a title seen twice keeps its longer version."""
    pages: dict[str, tuple[str, ...]] = {}
    for record in records:
        for title, sentences in record.context:
            if len(sentences) > len(pages.get(title, ())):
                pages[title] = tuple(sentences)
    return pages


def fingerprint(pages: Mapping[str, tuple[str, ...]]) -> str:
    """sha256 of the index format and every page, in order: the on-disk cache key."""
    digest = hashlib.sha256(INDEX_FORMAT.encode())
    for title, sentences in pages.items():
        digest.update(title.encode("utf-8", "surrogatepass") + b"\x00")
        digest.update("\x01".join(sentences).encode("utf-8", "surrogatepass") + b"\x02")
    return digest.hexdigest()


class BM25Corpus:
    """A fixed set of pages searched with BM25 (bm25s); immutable once built, safe to share.

    Args:
        pages: title -> sentences, in a stable order (the order breaks score ties).
        retriever: A `bm25s.BM25` indexed over `document_text` of the pages, in the same order.
        name: Backend name reported in `info`.
    """

    def __init__(self, pages: Mapping[str, tuple[str, ...]], retriever: object, *, name: str = "local") -> None:
        self.name = name
        self._pages = dict(pages)
        self._titles = list(self._pages)
        self._retriever = retriever
        self._stopwords = _stopwords()
        self._by_key: dict[str, str] = {}
        for title in self._titles:
            self._by_key.setdefault(title_key(title), title)

    def __len__(self) -> int:
        return len(self._titles)

    @property
    def titles(self) -> list[str]:
        return list(self._titles)

    def page(self, title: str) -> Page | None:
        found = title if title in self._pages else self._by_key.get(title_key(title))
        return None if found is None else Page(found, self._pages[found])

    def similar(self, query: str, k: int = 5) -> list[str]:
        tokens = tokenize(query, self._stopwords)
        if not tokens or k <= 0:
            return []
        scores = self._retriever.get_scores(tokens)  # type: ignore[attr-defined]
        hits = np.flatnonzero(scores > 0)
        if hits.size > k:  # keep everything tied with the k-th best, then order by (score, corpus order)
            kth = np.partition(scores[hits], hits.size - k)[hits.size - k]
            hits = hits[scores[hits] >= kth]
        order = np.lexsort((hits, -scores[hits]))
        return [self._titles[i] for i in hits[order[:k]]]

    # -- building and caching --------------------------------------------------------------------------
    @classmethod
    def build(cls, pages: Mapping[str, tuple[str, ...]], *, name: str = "local", cache: bool | Path = True) -> "BM25Corpus":
        """Index `pages`, or load the index cached on disk for exactly these pages.

        Args:
            pages: title -> sentences.
            name: Backend name (also the prefix of the cache folder).
            cache: True: `<cache_root>/hotpotqa/index`; a Path: that folder; False: no disk cache.
        """
        key = fingerprint(pages)
        with _LOCK:
            if key in _IN_PROCESS:
                return _IN_PROCESS[key]
        folder = None
        if cache:
            base = cache if isinstance(cache, Path) else cache_root() / "hotpotqa" / "index"
            folder = base / f"{name}-{key[:24]}"
        retriever = _load_index(folder, list(pages)) if folder is not None else None
        if retriever is None:
            retriever = _index(pages)
            if folder is not None:
                _save_index(retriever, folder, list(pages))
        corpus = cls(pages, retriever, name=name)
        with _LOCK:
            return _IN_PROCESS.setdefault(key, corpus)

    @classmethod
    def from_abstracts_dump(cls, path: str | os.PathLike[str], *, cache: bool | Path = True) -> "BM25Corpus":
        """The corpus of the official HotpotQA abstracts dump (the tar.bz2, an extracted folder, or one file).

        Reading 5M pages takes minutes; the pages and the index are cached on disk after the first time
        (keyed by the dump's path, size and modification time).
        """
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"HotpotQA abstracts dump {str(path)!r} does not exist; download {ABSTRACTS_DUMP_URL} and pass its path as abstracts_path=.")
        stat = path.stat()
        ident = hashlib.sha256(f"{INDEX_FORMAT}|{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
        base = (cache if isinstance(cache, Path) else cache_root() / "hotpotqa" / "index") if cache else None
        pages_file = base / f"abstracts-pages-{ident}.jsonl" if base is not None else None
        if pages_file is not None and pages_file.exists():
            with open(pages_file, encoding="utf-8") as f:
                pages = {row[0]: tuple(row[1]) for row in map(json.loads, f)}
        else:
            pages = {}
            for page in read_abstracts_dump(path):
                pages.setdefault(page.title, page.sentences)
            if pages_file is not None:
                pages_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = pages_file.with_name(f"{pages_file.name}.{uuid.uuid4().hex[:8]}.part")
                with open(tmp, "w", encoding="utf-8") as f:
                    for title, sentences in pages.items():
                        f.write(json.dumps([title, sentences], ensure_ascii=False) + "\n")
                os.replace(tmp, pages_file)
        return cls.build(pages, name="abstracts", cache=cache)


_LOCK = threading.Lock()
#: fingerprint -> built corpus. Read-only objects shared by envs of this process (no episode state).
_IN_PROCESS: dict[str, BM25Corpus] = {}


def _index(pages: Mapping[str, tuple[str, ...]]) -> object:
    import bm25s

    start = time.perf_counter()
    stopwords = _stopwords()
    tokens = [tokenize(document_text(title, sentences), stopwords) for title, sentences in pages.items()]
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    logger.info("Indexed %d pages with BM25 in %.2f s.", len(tokens), time.perf_counter() - start)
    return retriever


def _load_index(folder: Path, titles: list[str]) -> object | None:
    """The cached index in `folder` if it exists and was built over exactly `titles`; else None."""
    if not (folder / "titles.json").exists():
        return None
    try:
        import bm25s

        if json.loads((folder / "titles.json").read_text(encoding="utf-8")) != titles:
            return None
        return bm25s.BM25.load(str(folder), show_progress=False)
    except (OSError, ValueError, KeyError) as e:  # a damaged cache is rebuilt, not fatal
        logger.warning("Ignoring the damaged BM25 cache %s (%s); rebuilding it.", folder, e)
        return None


def _save_index(retriever: object, folder: Path, titles: list[str]) -> None:
    """Write the index next to `folder`, then rename it into place (a reader never sees half an index)."""
    tmp = folder.with_name(f"{folder.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.mkdir(parents=True)
        retriever.save(str(tmp), show_progress=False)  # type: ignore[attr-defined]
        (tmp / "titles.json").write_text(json.dumps(titles, ensure_ascii=False), encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another process got there first: its index is as good as ours
            pass
    except OSError as e:
        logger.warning("Could not cache the BM25 index in %s (%s); it will be rebuilt next time.", folder, e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- the official abstracts dump ---------------------------------------------------------------------
def _page_from_line(line: bytes | str) -> Page | None:
    row = json.loads(line)
    title, text = row.get("title"), row.get("text") or []
    if not title:
        return None
    sentences: list[str] = []
    for i, item in enumerate(text):
        if isinstance(item, list):  # full (non-abstract) dump: paragraphs of sentences; the first is the title
            if i == 0 and "".join(item).strip() == title:
                continue
            sentences += [str(s) for s in item]
        else:
            sentences.append(str(item))
    sentences = [s for s in sentences if s.strip()]
    return Page(str(title), tuple(sentences)) if sentences else None


def _lines(data: bytes, name: str) -> Iterator[bytes]:
    if name.endswith(".bz2"):
        data = bz2.decompress(data)
    yield from (line for line in io.BytesIO(data) if line.strip())


def read_abstracts_dump(path: str | os.PathLike[str]) -> Iterator[Page]:
    """Pages of the official HotpotQA abstracts dump, in file order.

    Accepts the downloaded `.tar.bz2`, the folder it extracts to (`AA/wiki_00.bz2`, ...), or a single
    `wiki_XX[.bz2]` / `.jsonl` file. Each line is `{"title": ..., "text": [sentence, ...], ...}`.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and (p.name.startswith("wiki_") or p.suffix in (".bz2", ".jsonl")))
        for file in files:
            for line in _lines(file.read_bytes(), file.name):
                if (page := _page_from_line(line)) is not None:
                    yield page
    elif path.name.endswith((".tar.bz2", ".tar", ".tgz", ".tar.gz")):
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                for line in _lines(handle.read(), member.name):
                    if (page := _page_from_line(line)) is not None:
                        yield page
    else:
        for line in _lines(path.read_bytes(), path.name):
            if (page := _page_from_line(line)) is not None:
                yield page
