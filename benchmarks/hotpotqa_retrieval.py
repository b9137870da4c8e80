"""How fast the HotpotQA local corpus answers Search and Lookup, as ratios against a naive linear scan.

Over the full local corpus (train + dev distractor paragraphs, 15,231 titles with the shared data):

  index build   cold (empty cache: tokenise + BM25 index + write), from the disk cache (records
                already parsed; and in a fresh process, imports and parsing included), and
                in-process (a repeated `gymnasium.make`)
  search hit    `Search[<gold title>]` for every gold title: an exact title match
  search miss   `Search[<question text>]`: not a title, so a BM25 ranking of the whole corpus
  lookup        `Lookup[<word>]` on the page just found
  memory        Python heap held by the built corpus (tracemalloc) and the process's peak RSS
  near titles   how Search treats a gold title written differently, as Wikipedia's search would be
                asked (lowercase, accents dropped, punctuation dropped, a leading "The" dropped,
                one letter dropped or two swapped): the page itself, or the title among Similar

Each operation goes through `env.step` (parsing and observation text included). The baseline, run in
the same process on the same queries, is a naive linear scan: titles compared one by one for a hit,
every page's token set intersected with the query for a miss (top 5 by overlap), and the page found
by scanning titles before its sentences are filtered for a lookup.
Targets (issue 6): median <= 1 ms per action, build <= 5 s from the cache.

    python benchmarks/hotpotqa_retrieval.py
    python benchmarks/hotpotqa_retrieval.py --queries 300
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RERST_DATA_DIR", str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))

from rerest_envs.hotpotqa import HotpotQAEnv, load_split, pages_from_records, title_key  # noqa: E402
from rerest_envs.hotpotqa import corpus as corpus_module  # noqa: E402
from rerest_envs.hotpotqa import env as env_module  # noqa: E402
from rerest_envs.hotpotqa.corpus import _stopwords, tokenize  # noqa: E402


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e3


def timed_each(run: Callable[[str], object], items: list[str]) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - start)
    return times


class LinearScan:
    """The baseline: no index, every query walks the pages."""

    def __init__(self, pages: dict[str, tuple[str, ...]]) -> None:
        stop = _stopwords()
        self.pages = list(pages.items())
        self.tokens = [set(tokenize(f"{t} {''.join(s)}", stop)) for t, s in self.pages]
        self.stop = stop

    def page(self, title: str) -> tuple[str, tuple[str, ...]] | None:
        key = title_key(title)
        for t, sentences in self.pages:
            if title_key(t) == key:
                return t, sentences
        return None

    def search(self, query: str) -> str:
        hit = self.page(query)
        if hit is not None:
            return " ".join(s.strip() for s in hit[1][:5])
        words = set(tokenize(query, self.stop))
        scored = sorted(((len(words & toks), -i) for i, toks in enumerate(self.tokens) if words & toks), reverse=True)[:5]
        return str([self.pages[-i][0] for _, i in scored])

    def lookup(self, title: str, keyword: str) -> list[str]:
        hit = self.page(title)
        return [s for s in hit[1] if keyword.lower() in s.lower()] if hit else []


def near_title_variants(title: str) -> dict[str, str]:
    """Deterministic misspellings of a title, by kind (only those that differ from the title)."""
    import unicodedata

    folded = "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c))
    words = title.split()
    middle = len(title) // 2
    variants = {
        "lowercase": title.lower(),
        "no accents": folded,
        "no punctuation": " ".join("".join(c if c.isalnum() or c.isspace() else " " for c in title).split()),
        "no leading The": " ".join(words[1:]) if len(words) > 1 and words[0] == "The" else title,
        "letter dropped": title[:middle] + title[middle + 1:] if len(title) >= 8 and title[middle].isalpha() else title,
        "letters swapped": (title[:middle] + title[middle + 1] + title[middle] + title[middle + 2:]
                            if len(title) >= 8 and title[middle:middle + 2].isalpha() and title[middle] != title[middle + 1] else title),
    }
    return {kind: v for kind, v in variants.items() if v != title and v.strip()}


def near_titles(env: HotpotQAEnv, titles: list[str]) -> None:
    """Per kind of misspelling: n, the page found, the gold title among Similar, and the median latency."""
    by_kind: dict[str, list[tuple[bool, bool, float]]] = {}
    for title in dict.fromkeys(titles):
        for kind, query in near_title_variants(title).items():
            start = time.perf_counter()
            obs, *_, info = env.step(f"Search[{query}]")
            elapsed = time.perf_counter() - start
            hit = info["page"] == title
            listed = not hit and obs.startswith("Could not find") and repr(title) in obs
            by_kind.setdefault(kind, []).append((hit, listed, elapsed))
    print(f"{'near title':16s} {'n':>6s} {'page found':>11s} {'in Similar':>11s} {'either':>8s} {'median ms':>10s}")
    for kind, rows in by_kind.items():
        n = len(rows)
        hits, listed = sum(r[0] for r in rows), sum(r[1] for r in rows)
        print(f"{kind:16s} {n:6d} {hits / n:11.3f} {listed / n:11.3f} {(hits + listed) / n:8.3f} "
              f"{statistics.median(r[2] for r in rows) * 1e3:10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=500, help="questions to time (0 = all 1567; the baseline is slow)")
    args = parser.parse_args()
    records = load_split("all")
    if args.queries:
        records = records[: args.queries]

    # -- build: cold, from disk, in-process ---------------------------------------------------------
    def fresh_build() -> tuple[HotpotQAEnv, float]:
        corpus_module._IN_PROCESS.clear()
        env_module.local_corpus.cache_clear()
        start = time.perf_counter()
        made = HotpotQAEnv(split="all")
        return made, time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cache:
        os.environ["RERST_CACHE_DIR"] = cache
        env, cold = fresh_build()
        env, from_disk = fresh_build()
        start = time.perf_counter()
        HotpotQAEnv(split="all")
        in_process = time.perf_counter() - start
        cache_bytes = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())
        code = ("import time; t = time.perf_counter(); from rerest_envs.hotpotqa import HotpotQAEnv; "
                "HotpotQAEnv(split='all'); print(time.perf_counter() - t)")
        done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent.parent)
        fresh_process = float(done.stdout.split()[-1])
        gc.collect()
        tracemalloc.start()
        env, _ = fresh_build()  # records are already parsed (lru cache): this is the index + page table
        heap = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    pages = pages_from_records(load_split("all"))
    start = time.perf_counter()
    baseline = LinearScan(pages)
    baseline_build = time.perf_counter() - start
    gc.collect()
    import bm25s

    print(f"# corpus: {len(env.corpus)} pages, {len(records)} questions; BM25 by bm25s {bm25s.__version__}, {os.cpu_count()} CPUs")
    print(f"build     cold {cold:6.2f} s   from disk cache {from_disk:6.3f} s (fresh process, imports and parsing "
          f"included: {fresh_process:5.2f} s)   in-process {in_process * 1e3:7.2f} ms   "
          f"(baseline token sets {baseline_build:5.2f} s)   disk cache {cache_bytes / 2**20:.1f} MiB")
    print(f"memory    index + page table heap {heap / 2**20:7.1f} MiB (tracemalloc)   "
          f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:7.1f} MiB")

    # -- latency ------------------------------------------------------------------------------------
    titles = [t for r in records for t in r.gold_titles]
    questions = [r.question for r in records]
    lookups = [(t, w) for t in titles for w in (tokenize(pages[t][0])[:1] or ["the"])]
    env.reset(seed=0)

    def step(action: str) -> None:
        env.step(action)

    results = {
        "search hit": (timed_each(step, [f"Search[{t}]" for t in titles]), timed_each(baseline.search, titles)),
        "search miss": (timed_each(step, [f"Search[{q}]" for q in questions]), timed_each(baseline.search, questions)),
    }
    ours, base = [], []
    for title, word in lookups:
        env.step(f"Search[{title}]")
        ours += timed_each(step, [f"Lookup[{word}]"])
        base += timed_each(lambda w: baseline.lookup(title, w), [word])
    results["lookup"] = (ours, base)
    print(f"{'action':12s} {'n':>6s} {'median ms':>10s} {'p99 ms':>9s} {'baseline median':>16s} {'baseline p99':>13s} {'speed-up (median)':>18s}")
    for name, (mine, theirs) in results.items():
        m50, m99 = percentiles(mine)
        b50, b99 = percentiles(theirs)
        print(f"{name:12s} {len(mine):6d} {m50:10.4f} {m99:9.4f} {b50:16.3f} {b99:13.3f} {b50 / m50:17.0f}x")
    near_titles(env, titles)
    target = all(percentiles(mine)[0] <= 1.0 for mine, _ in results.values()) and fresh_process <= 5.0
    print(f"# targets (median <= 1 ms, cached build <= 5 s): {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
