"""`WikipediaCorpus`: the live MediaWiki API as a HotpotQA backend (for users with a network).

This is what every anchor (ReAct, Reflexion, Re-ReST) used, and it is not reproducible: pages change
and the service can be slow or down. So it is opt-in (`backend="wikipedia"`), answers are cached per
backend instance, and a failed request after all retries becomes a "search failed" observation, not
an exception thrown at the agent.

Requests (standard library only, JSON, `formatversion=2`):
  * page:    `action=query&prop=extracts|pageprops&explaintext=1&redirects=1&titles=<title>`;
    a missing page or a disambiguation page counts as not found (ReAct then lists similar titles).
  * similar: `action=query&list=search&srsearch=<query>&srlimit=<k>&srprop=`.
Every request sends a User-Agent (Wikimedia's policy), has a timeout and is retried with
exponential backoff on network errors, HTTP 429 and 5xx.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from rerest_envs.data.download import USER_AGENT
from rerest_envs.hotpotqa.corpus import Page

DEFAULT_API_URL = "https://en.wikipedia.org/w/api.php"
DEFAULT_USER_AGENT = USER_AGENT.replace("data downloader", "HotpotQA env; https://github.com/PlusLabNLP/Re-ReST reimplementation")
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'A-Z0-9])")
#: Words whose trailing period does not end a sentence (besides single-letter initials such as "D.").
_ABBREVIATIONS = frozenset({"jr", "sr", "dr", "mr", "mrs", "ms", "st", "mt", "ft", "vs", "no", "inc", "co", "ltd", "gen", "col",
                            "lt", "sgt", "rev", "prof", "u.s", "u.k", "e.g", "i.e", "c", "ca", "approx", "op", "vol"})


class WikipediaUnavailable(RuntimeError):
    """The API could not be reached after all retries (turned into an observation by the env)."""


def split_sentences(text: str) -> tuple[str, ...]:
    """Plain-text extract -> sentences: section headings dropped, paragraphs split at sentence ends."""
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph or (paragraph.startswith("==") and paragraph.endswith("==")):
            continue
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            words = paragraph[start:match.start()].split()
            last = words[-1].rstrip(".!?\"')]").lower() if words else ""
            if len(last) <= 1 or last in _ABBREVIATIONS:
                continue  # "Wood Jr. (October", "Edward D. Wood": not a sentence end
            sentences.append(paragraph[start:match.end()].strip())
            start = match.end()
        if paragraph[start:].strip():
            sentences.append(paragraph[start:].strip())
    return tuple(sentences)


class WikipediaCorpus:
    """Pages and searches from a MediaWiki API (`api_url`), cached for the life of the instance.

    Args:
        api_url: The `api.php` endpoint (default English Wikipedia; tests use a local server).
        user_agent: Sent with every request; Wikimedia asks for a contact (URL or e-mail) in it.
        timeout: Seconds a connect or a read may block.
        retries: Extra attempts after a network error, HTTP 429 or 5xx.
        backoff: Seconds before the first retry, doubled each time.
    """

    def __init__(self, api_url: str = DEFAULT_API_URL, *, user_agent: str | None = None, timeout: float = 10.0,
                 retries: int = 2, backoff: float = 0.5) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise ValueError(f"api_url must be an http(s) URL of a MediaWiki api.php, got {api_url!r}.")
        self.name = "wikipedia"
        self.api_url = api_url
        self.user_agent = user_agent or DEFAULT_USER_AGENT
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self._pages: dict[str, Page | None] = {}
        self._searches: dict[tuple[str, int], list[str]] = {}
        self._lock = threading.Lock()

    def _get(self, params: dict[str, str]) -> dict[str, Any]:
        query = urllib.parse.urlencode({**params, "format": "json", "formatversion": "2"})
        request = urllib.request.Request(f"{self.api_url}?{query}", headers={"User-Agent": self.user_agent})
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                e.close()
                reason = f"HTTP {e.code}"
                if e.code not in _RETRY_STATUSES:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
                reason = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            except ValueError as e:
                reason = f"invalid JSON ({e})"
                break
        raise WikipediaUnavailable(f"{self.api_url} failed ({reason}) after {attempt + 1} attempt(s)")

    def page(self, title: str) -> Page | None:
        with self._lock:
            if title in self._pages:
                return self._pages[title]
        data = self._get({"action": "query", "prop": "extracts|pageprops", "explaintext": "1", "redirects": "1", "titles": title})
        found: Page | None = None
        for page in data.get("query", {}).get("pages", []):
            if page.get("missing") or page.get("invalid") or "disambiguation" in (page.get("pageprops") or {}):
                continue
            sentences = split_sentences(page.get("extract") or "")
            if sentences:
                found = Page(page.get("title", title), sentences)
                break
        with self._lock:
            self._pages[title] = found
        return found

    def similar(self, query: str, k: int = 5) -> list[str]:
        if not query.strip() or k <= 0:
            return []
        with self._lock:
            if (query, k) in self._searches:
                return list(self._searches[(query, k)])
        data = self._get({"action": "query", "list": "search", "srsearch": query, "srlimit": str(k), "srprop": ""})
        titles = [hit["title"] for hit in data.get("query", {}).get("search", []) if "title" in hit][:k]
        with self._lock:
            self._searches[(query, k)] = titles
        return list(titles)
