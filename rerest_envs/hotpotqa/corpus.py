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


_NON_WORD = re.compile(r"[\W_]+")
#: Fuzzy title matching covers titles and queries up to this many characters (longer ones: exact and loose only).
FUZZY_MAX_CHARS = 64
#: Corpora with more titles than this get no fuzzy index (the deletion index would hold ~20 keys per title).
FUZZY_MAX_TITLES = 500_000


def loose_key(title: str) -> str:
    """A title as Wikipedia's redirects forgive it: case, accents, punctuation and a leading "The" ignored."""
    words = _NON_WORD.sub(" ", _fold(unicodedata.normalize("NFKC", title))).split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


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
        self._by_loose: dict[str, str | None] = {}  # loose key -> its one title, None when several share it
        self._loose = [loose_key(title) for title in self._titles]
        for title, loose in zip(self._titles, self._loose):
            self._by_key.setdefault(title_key(title), title)
            self._by_loose[loose] = title if loose not in self._by_loose else None
        self._order = {title: i for i, title in enumerate(self._titles)}
        # deletion -> titles; built beside the caller (about 0.5 s of CPU for 15k titles), awaited by the first near_titles
        self._fuzzy: dict[str, list[str]] | None = None
        self._fuzzy_lock = threading.Lock()
        if len(self._titles) <= FUZZY_MAX_TITLES:
            threading.Thread(target=self._fuzzy_index, name="bm25corpus-fuzzy-index", daemon=True).start()

    def __len__(self) -> int:
        return len(self._titles)

    @property
    def titles(self) -> list[str]:
        return list(self._titles)

    def page(self, title: str) -> Page | None:
        """The page of this exact title, else of the same `title_key`, else of the same `loose_key` when
        only one title has it (as a Wikipedia redirect: `beyonce` -> `Beyoncé`, `Beatles` -> `The Beatles`)."""
        found = title if title in self._pages else self._by_key.get(title_key(title))
        if found is None:
            found = self._by_loose.get(loose_key(title))
        return None if found is None else Page(found, self._pages[found])

    def near_titles(self, query: str, k: int = 5) -> list[str]:
        """Titles within two edits of the query (case, accents, punctuation ignored), nearest first:
        what Wikipedia's search suggests for a misspelt title. Empty for long queries or huge corpora."""
        key = loose_key(query)
        if not key or len(key) > FUZZY_MAX_CHARS or k <= 0 or len(self._titles) > FUZZY_MAX_TITLES:
            return []
        index = self._fuzzy_index()
        candidates: set[str] = set()
        for probe in _deletions(key) | {key}:
            candidates.update(index.get(probe, ()))
        ranked = sorted((d, i, t) for t in candidates
                        if (d := _edit_distance(key, self._loose[i := self._order[t]])) <= 2)
        return [t for _, _, t in ranked[:k]]

    def _fuzzy_index(self) -> dict[str, list[str]]:
        with self._fuzzy_lock:
            if self._fuzzy is None:
                index: dict[str, list[str]] = {}
                for title, key in zip(self._titles, self._loose):
                    if key and len(key) <= FUZZY_MAX_CHARS:
                        for probe in _deletions(key) | {key}:
                            index.setdefault(probe, []).append(title)
                self._fuzzy = index
            return self._fuzzy

    def similar(self, query: str, k: int = 5) -> list[str]:
        """Near titles first (`near_titles`), then BM25's ranking, up to `k` titles."""
        near = self.near_titles(query, k)
        ranked = self._bm25(query, k + len(near))
        return list(dict.fromkeys(near + ranked))[:k]

    def _bm25(self, query: str, k: int) -> list[str]:
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
