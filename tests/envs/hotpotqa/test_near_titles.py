"""Search answers near titles as Wikipedia's does: loose title hits (redirect-like), misspelt titles first in Similar."""

from __future__ import annotations

import unicodedata

import pytest

from rerest_envs.hotpotqa import HotpotQAEnv, loose_key

TASK = "5a8b57f25542995d1e6f1371"


@pytest.fixture(scope="module")
def env() -> HotpotQAEnv:
    return HotpotQAEnv(split="dev")


def _unique_loose(env: HotpotQAEnv, title: str) -> bool:
    return sum(loose_key(t) == loose_key(title) for t in env.corpus.titles) == 1


def test_loose_title_variants_open_the_page(env: HotpotQAEnv) -> None:
    titles = env.corpus.titles
    accented = next(t for t in titles if t != unicodedata.normalize("NFKD", t) and _unique_loose(env, t))
    the = next(t for t in titles if t.startswith("The ") and len(t.split()) > 2 and _unique_loose(env, t))
    punct = next(t for t in titles if "," in t and _unique_loose(env, t))
    folded = "".join(c for c in unicodedata.normalize("NFKD", accented) if not unicodedata.combining(c))
    env.reset(options={"task_id": TASK})
    for query, title in ((folded, accented), (the[4:], the), (punct.replace(",", ""), punct)):
        obs, *_, info = env.step(f"Search[{query}]")
        assert info["page"] == title, (query, obs[:80])


def test_a_misspelt_title_is_the_first_similar_title(env: HotpotQAEnv) -> None:
    env.reset(options={"task_id": TASK})
    obs = env.step("Search[Scott Derickson]")[0]
    assert obs.startswith("Could not find [Scott Derickson]. Similar: ['Scott Derrickson', ")
    obs = env.step("Search[Ed Woood]")[0]
    assert obs.startswith("Could not find [Ed Woood]. Similar: ['Ed Wood'")


def test_titles_shared_by_several_pages_are_not_guessed(env: HotpotQAEnv) -> None:
    shared = {}
    for title in env.corpus.titles:
        shared.setdefault(loose_key(title), []).append(title)
    key, titles = next((k, ts) for k, ts in shared.items() if len(ts) > 1 and k not in {t.lower() for t in ts})
    assert env.corpus.page(key) is None and set(env.corpus.similar(key, 10)) >= set(titles[:2])
