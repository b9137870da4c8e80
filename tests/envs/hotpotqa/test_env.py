"""Observation wording (ReAct's wiki env), per-episode state, truncation and the index cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gymnasium
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.hotpotqa import BM25Corpus, HotpotQAEnv
from rerest_envs.hotpotqa import corpus as corpus_module

TASK = "5a8b57f25542995d1e6f1371"  # Were Scott Derrickson and Ed Wood of the same nationality?
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def env() -> HotpotQAEnv:
    return HotpotQAEnv(split="dev")


def test_observations_are_worded_as_react(env: HotpotQAEnv) -> None:
    obs, info = env.reset(options={"task_id": TASK})
    assert obs == "Question: Were Scott Derrickson and Ed Wood of the same nationality?"
    assert info["backend"] == "local" and info["type"] == "comparison"
    obs, reward, terminated, truncated, info = env.step("Search[scott derrickson]")
    assert obs.startswith("Scott Derrickson (born July 16, 1966) is an American director, screenwriter and producer. He lives")
    assert (reward, terminated, truncated, info["page"]) == (0.0, False, False, "Scott Derrickson")
    assert info["feedback"].success is None and "Gold answer" not in obs
    assert env.step("Lookup[he]")[0] == "(Result 1 / 2) He lives in Los Angeles, California."
    assert env.step("Lookup[he]")[0].startswith("(Result 2 / 2) He is best known")
    assert env.step("Lookup[he]")[0] == "No more results."
    assert env.step("Lookup[California]")[0] == "(Result 1 / 1) He lives in Los Angeles, California."
    assert env.step("Lookup[zebra]")[0] == "No more results."
    obs = env.step("Search[Scott Derickson director]")[0]
    assert obs.startswith("Could not find [Scott Derickson director]. Similar: [") and "'Scott Derrickson'" in obs
    assert env.step("Lookup[born]")[0].startswith("The last page Searched was not found")
    assert env.step("Search[qqqzzzxxy]")[0] == "Could not find [qqqzzzxxy]. Similar: []"
    assert env.step("Search[]")[0].startswith("Search needs an entity")
    assert env.step("hello")[0].startswith("Invalid Action")
    obs, reward, terminated, _, info = env.step("Finish[No]")
    assert (reward, terminated, info["feedback"].success) == (0.0, True, False)
    assert obs == "Your answer 'No' is wrong." and info["feedback"].details["f1"]["score"] == 0.0


def test_empty_finish_counts_as_no_answer(env: HotpotQAEnv) -> None:
    env.reset(options={"task_id": TASK})
    obs, reward, terminated, _, info = env.step("Finish[]")
    assert reward == 0.0 and terminated and obs.startswith("No answer was given")
    assert info["feedback"].details["answered"]["score"] == 0.0


def test_lookup_before_any_search(env: HotpotQAEnv) -> None:
    env.reset(options={"task_id": TASK})
    assert env.step("Lookup[born]")[0].startswith("No page has been found yet")


def test_episode_state_is_per_env_and_per_episode() -> None:
    a, b = HotpotQAEnv(split="dev"), HotpotQAEnv(split="dev")
    assert a.corpus is b.corpus  # the immutable index is shared in-process ...
    a.reset(options={"task_id": TASK})
    b.reset(options={"task_id": TASK})
    a.step("Search[Ed Wood]")
    assert b.step("Lookup[American]")[0].startswith("No page has been found yet")  # ... the cursor is not
    assert a.step("Lookup[American]")[0].startswith("(Result 1 /")
    a.reset(options={"task_id": TASK})
    assert a.step("Lookup[American]")[0].startswith("No page has been found yet")


def test_step_limit_truncates_through_gymnasium() -> None:
    env = gymnasium.make("rerest/HotpotQA-v0", max_episode_steps=2)
    env.reset(seed=0)
    assert env.step("Search[Ed Wood]")[3] is False
    obs, reward, terminated, truncated, info = env.step("Lookup[film]")
    assert truncated and not terminated and reward == 0.0
    assert info["feedback"].success is None and info["feedback"].message.startswith("No answer was given")
    assert gymnasium.spec("rerest/HotpotQA-v0").max_episode_steps == 7


def test_bad_kwargs_raise_one_line_errors() -> None:
    with pytest.raises(ValueError, match="did you mean 'local'"):
        HotpotQAEnv(backend="locale")
    with pytest.raises(ValueError, match="abstracts_path"):
        HotpotQAEnv(backend="abstracts")
    with pytest.raises(TypeError, match="page\\(title\\)"):
        HotpotQAEnv(backend=object())  # type: ignore[arg-type]


def test_index_is_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path))
    pages = {"Alpha page": ("Alpha is a letter.",), "Beta page": ("Beta follows alpha.",), "Gamma": ("Gamma rays.",)}
    built = BM25Corpus.build(pages, name="test")
    folders = list((tmp_path / "hotpotqa" / "index").iterdir())
    assert len(folders) == 1 and (folders[0] / "titles.json").exists()
    assert built.similar("alpha letter", 2) == ["Alpha page", "Beta page"]
    monkeypatch.setattr(corpus_module, "_IN_PROCESS", {})
    monkeypatch.setattr(corpus_module, "_index", lambda pages: pytest.fail("the cached index was rebuilt"))
    loaded = BM25Corpus.build(pages, name="test")
    assert loaded is not built and loaded.similar("alpha letter", 2) == ["Alpha page", "Beta page"]
    assert loaded.page("alpha_PAGE") == built.page("Alpha page")


def test_a_fresh_process_builds_from_the_disk_cache_quickly() -> None:
    HotpotQAEnv(split="dev")  # makes sure the user cache holds the index
    code = ("import time; t = time.perf_counter(); from rerest_envs.hotpotqa import HotpotQAEnv; "
            "HotpotQAEnv(split='dev'); print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) < 5.0
