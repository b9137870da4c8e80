"""`rerest/HotpotQA-v0`: multi-hop question answering with ReAct's Search / Lookup / Finish actions."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, SupportsFloat

from rerest_envs.core import Feedback, TextEnv, bounded_action, cut_note
from rerest_envs.hotpotqa.actions import ParsedAction, parse_action, parse_action_paper
from rerest_envs.hotpotqa.corpus import BM25Corpus, Corpus, Page, pages_from_records
from rerest_envs.hotpotqa.data import HotpotRecord, load_split, read_records, split_file
from rerest_envs.hotpotqa.scoring import privileged_text, score_answer

BACKENDS = ("local", "wikipedia", "abstracts")
PROTOCOLS = ("default", "paper")
#: Actions per episode under `protocol="paper"`: Re-ReST's zero-shot loop (research/paper.md §2.1: at most 6
#: Thought/Action steps). The lenient default keeps the registered 7, ReAct's `webthink` `for i in range(1, 8)`.
PAPER_MAX_STEPS = 6
#: ReAct's `WikiEnv.step` reply to `think[...]` (paper protocol only).
THINK_REPLY = "Nice thought."
#: How many characters of an action are read: the rest is ignored, and the observation says so.
MAX_ACTION_CHARS = 10_000
#: Feedback on every step before Finish (and so on a step cut off by the step limit).
NO_ANSWER_YET = "No answer was given yet: the episode ends with Finish[answer]."
LOOKUP_WITHOUT_PAGE = ("The last page Searched was not found, so you cannot Lookup a keyword in it. "
                       "Please try one of the similar pages given.")


def _identity(path: Path, origin: str = "") -> tuple[str, int, int, str]:
    stat = path.resolve().stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, origin


@functools.lru_cache(maxsize=8)
def local_corpus(files: tuple[tuple[str, int, int, str], ...]) -> BM25Corpus:
    """The `local` corpus over these record files (path, size, mtime, split): built once per process, then shared."""
    return BM25Corpus.build(pages_from_records(r for path, _, _, origin in files for r in read_records(path, origin)), name="local")


class HotpotQAEnv(TextEnv):
    """HotpotQA (distractor records) as a ReAct-style retrieval environment, offline by default.

    ## Description
    The agent answers a multi-hop question by searching a Wikipedia-like corpus, looking up keywords
    in the page it found, and finishing with an answer, as in ReAct (Yao et al., 2023) and the
    HotpotQA experiments of Re-ReST (Dou et al., 2024). Every anchor queried live Wikipedia, which
    drifts and needs a network; this env's default `local` backend is a fixed corpus: the paragraphs
    of all HotpotQA distractor records (train + dev, 15,231 titles with the shared data), searched
    with BM25, so episodes are reproducible. Lookup state is per episode (the official code shared
    one explorer across a batch, see paper.md §4.4).

    Two protocols (`protocol=`), side by side. `"paper"` follows ReAct's `hotpotqa.ipynb` `webthink`,
    `wikienv.py` `WikiEnv.step` and `wrappers.py` EM (`ysymyth/ReAct@6bdb3a1`), whose normalisation is
    `hotpot_evaluate_v1.py`'s (`hotpotqa/hotpot@4c0fa5e`), with Re-ReST's 6 steps;
    `tests/envs/hotpotqa/test_parity_official.py` checks it against those rules transcribed:

    | | `"default"` (default) | `"paper"` |
    |---|---|---|
    | verb case | any (`SEARCH[x]`) | first letter only (`Search[x]`, `search[x]`; `SEARCH[x]` is invalid) |
    | brackets | `[]`, `()`, `{}`, `:`, a missing `]` | `verb[...]` ending in `]` |
    | `Action:` marker | the verb must follow it, at a line start or mid-line | after the first `Action:`/`Action i:` (case-sensitive), cut at `\nObservation` |
    | Finish argument | first line, quotes (straight and curly) stripped | all of it, several lines and quotes kept (EM on it) |
    | `think[...]` | invalid | `Nice thought.` |
    | invalid action | `Invalid Action: no Search, Lookup or Finish action found in ...` | `Invalid action: <action>` (cut to 200 characters) |
    | actions per episode | 7 (registered `max_episode_steps`; ReAct's `range(1, 8)`) | 6 (Re-ReST; the env truncates after the 6th) |

    Both read `Thought: let me finish (soon). Action: Search[X]` as `Search[X]`. Deliberate differences
    from the references under `"paper"`: pages come from the chosen backend, not live Wikipedia;
    ReAct re-asks the model when `\nAction i: ` is missing, an env cannot, so the whole text is read;
    after a cut-off episode ReAct steps `finish[]` (EM 0), here the episode is truncated with score 0.

    ## Action Space
    `AnyText`. Three verbs, argument in brackets (grammar text:
    `rerest_envs.hotpotqa.ACTION_GRAMMAR`)::

        Search[Scott Derrickson]    # the page's opening sentences, or similar titles
        Lookup[nationality]         # the next sentence of the current page containing the keyword
        Finish[yes]                 # answer and end the episode

    Under `"default"`, `Thought: ... Action 2: search[x]` reads the verb right after `Action:`, and
    `Search(x)`, `Search: x`, quotes and a missing `]` are accepted; `"paper"` is ReAct's (table above). Parsing takes time linear in the
    action; only its first 10,000 characters (`MAX_ACTION_CHARS`) are read, the observation then ends
    with `(Only the first 10,000 characters of the action were read.)`, and a lone surrogate is read
    as U+FFFD, so every observation is valid UTF-8 within the observation space.

    ## Observation Space
    `AnyText`. The first observation is the question (task `5a8b57f25542995d1e6f1371`)::

        Question: Were Scott Derrickson and Ed Wood of the same nationality?

    Replies, worded as ReAct's wiki env: a title hit (exact, or the same title up to case, accents,
    punctuation and a leading "The", when only one page has it: Wikipedia's redirects) gives the page's first `page_sentences`
    sentences (`Scott Derrickson (born July 16, 1966) is an American director, ...`); a miss gives
    `Could not find [Scott Derickson director]. Similar: ['Scott Derrickson', 'Scott Buchholz', 'Jaclyn
    Stapp', 'Scott Joiner', 'Dred Scott']` (titles within two edits first, as Wikipedia suggests near titles, then BM25); Lookup[he] gives `(Result 1 / 2) He lives
    in Los Angeles, California.`, then result 2, then `No more results.`; an
    unreadable action gives `Invalid Action: no Search, Lookup or Finish action found in "I don't know".
    Valid Actions are Search[<entity>], Lookup[<keyword>] and Finish[<answer>].`

    ## Starting State
    One question of the split: `options={"task_id": <HotpotQA id>}` chooses it, otherwise the seeded
    `np_random` does. No page is open.

    ## Rewards
    Exact match (EM) after the standard HotpotQA normalisation (lowercase, no punctuation, no
    articles, collapsed whitespace): 1.0 or 0.0, paid on `Finish`; 0.0 on every other step. F1 is
    reported in `details`.

    ## Episode End
    Terminates on `Finish[...]` (an empty `Finish[]` counts as no answer). Truncated by gymnasium's
    `TimeLimit` after `max_episode_steps` (default 7, ReAct's loop); under `protocol="paper"` the env
    itself truncates after 6 actions (Re-ReST). The last feedback then says no answer was given.

    ## Information
    `info` at reset: `task_id`, `question`, `type` (`bridge`/`comparison`), `level`, `backend`, and
    `feedback` (empty). At each step: `task_id`, `action` (`search`/`lookup`/`finish` or None),
    `argument`, `page` (title of the open page or None), `feedback`:
    - `success`: None until Finish, then whether EM is 1.
    - `score`: EM (the weighted mean of the checks below).
    - `message`: agent-visible; says the answer was correct, wrong, or not given, never the gold.
    - `privileged` (**reflector/evaluator only**): the gold answer and the supporting-fact sentences.
    - `details` (on Finish): `answer`, `normalized_answer`, and per check (`exact_match` weight 1,
      `f1` and `answered` weight 0) `{score, weight, explanation}`.

    ## Arguments
    ```python
    gymnasium.make("rerest/HotpotQA-v0", split="eval500", data_dir=None, backend="local",
                   corpus_splits=("train", "dev"), abstracts_path=None, wikipedia_api_url=None,
                   user_agent=None, page_sentences=5, similar_k=5, render_mode=None,
                   protocol="default", max_episode_steps=7)
    ```
    - `split`: `eval500` (the paper's 500-question protocol; with the shared data its README
      substitute), `eval500_covered`, `train`, `dev`, `all`, `train_extended`, `react500`, or a path to
      a `.jsonl` in the record schema (see `rerest_envs.hotpotqa.data`).
    - `data_dir`: folder with the HotpotQA files; default: the data layer (`$RERST_DATA_DIR/hotpotqa`,
      then `~/.cache/rerest/hotpotqa`, downloaded from the official HotpotQA site).
    - `backend`: `local` (BM25 over the records' paragraphs, cached under the user cache),
      `wikipedia` (live API: **nondeterministic**, needs a network), `abstracts` (the official
      HotpotQA abstracts dump at `abstracts_path`), or any object with `page(title)` and
      `similar(query, k)` (`rerest_envs.hotpotqa.Corpus`).
    - `corpus_splits`: which record files make the `local` corpus (a path split's records are added).
    - `abstracts_path`: the dump's `.tar.bz2` or extracted folder (`backend="abstracts"`).
    - `wikipedia_api_url`, `user_agent`: MediaWiki endpoint (default English Wikipedia) and User-Agent.
    - `page_sentences`: sentences shown on a title hit (ReAct: 5). `similar_k`: titles on a miss (5).
    - `render_mode`: `None` or `"ansi"` (the transcript).
    - `protocol`: `"default"` or `"paper"` (the table in Description).

    ## Version History
    - v0: initial version. Later, same id: `protocol="paper"`; the lenient parser reads the verb right
      after an `Action:` marker (it read `Thought: let me finish (soon). Action: Search[X]` as
      `Finish[soon]`); Search answers near titles (loose title hits, fuzzy titles first in Similar).

    ## References
    - Yang et al., "HotpotQA: A Dataset for Diverse, Explainable Multi-hop Question Answering", 2018.
    - Yao et al., "ReAct: Synergizing Reasoning and Acting in Language Models", 2023 (wiki env).
    - Dou et al., "Re-ReST: Reflection-Reinforced Self-Training for Language Agents", EMNLP 2024.
    """

    def __init__(self, split: str | os.PathLike[str] = "eval500", data_dir: str | os.PathLike[str] | None = None, *,
                 backend: str | Corpus = "local", corpus_splits: Sequence[str] = ("train", "dev"),
                 abstracts_path: str | os.PathLike[str] | None = None, wikipedia_api_url: str | None = None,
                 user_agent: str | None = None, page_sentences: int = 5, similar_k: int = 5,
                 render_mode: str | None = None, protocol: Literal["default", "paper"] = "default") -> None:
        super().__init__(render_mode=render_mode)
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol={protocol!r} is not a HotpotQA protocol; choose one of {list(PROTOCOLS)}.")
        self.protocol = protocol
        self._steps = 0
        if page_sentences < 1 or similar_k < 0:
            raise ValueError(f"page_sentences must be >= 1 and similar_k >= 0, got {page_sentences!r} and {similar_k!r}.")
        records = load_split(split, data_dir)
        self.records: dict[str, HotpotRecord] = {r.id: r for r in records}
        self.task_ids = list(self.records)
        self.split, self.page_sentences, self.similar_k = split, page_sentences, similar_k
        self.corpus = self._make_backend(backend, split, data_dir, corpus_splits, abstracts_path, wikipedia_api_url, user_agent)
        self._record: HotpotRecord | None = None
        self._page: Page | None = None
        self._searched = False
        self._lookup: tuple[str, list[str], int] | None = None  # keyword, matching sentences, cursor

    @staticmethod
    def _make_backend(backend: str | Corpus, split: str | os.PathLike[str], data_dir: Any, corpus_splits: Sequence[str],
                      abstracts_path: Any, api_url: str | None, user_agent: str | None) -> Corpus:
        if not isinstance(backend, str):
            if not (callable(getattr(backend, "page", None)) and callable(getattr(backend, "similar", None))):
                raise TypeError(f"backend must be one of {list(BACKENDS)} or an object with page(title) and similar(query, k), got {backend!r}.")
            return backend
        if backend == "local":
            unknown = [s for s in corpus_splits if s not in ("train", "dev")]
            if unknown:
                raise ValueError(f"corpus_splits={list(corpus_splits)!r} may only name 'train' and 'dev'.")
            files = [_identity(split_file(part, data_dir), part) for part in corpus_splits]
            if os.fspath(split).endswith((".jsonl", ".json")):
                files.append(_identity(Path(split)))
            return local_corpus(tuple(files))
        if backend == "wikipedia":
            from rerest_envs.hotpotqa.wikipedia import DEFAULT_API_URL, WikipediaCorpus

            return WikipediaCorpus(api_url or DEFAULT_API_URL, user_agent=user_agent)
        if backend == "abstracts":
            if abstracts_path is None:
                raise ValueError("backend='abstracts' needs abstracts_path= (the official HotpotQA abstracts .tar.bz2 or its extracted folder).")
            return BM25Corpus.from_abstracts_dump(abstracts_path)
        import difflib

        close = difflib.get_close_matches(backend, BACKENDS, n=1)
        raise ValueError(f"backend={backend!r} is not a HotpotQA backend; choose one of {list(BACKENDS)}{f' (did you mean {close[0]!r}?)' if close else ''}.")

    # -- episode ----------------------------------------------------------------------------------------
    def _start(self, task_id: str) -> tuple[str, dict[str, Any]]:
        self._record = self.records[task_id]
        self._page, self._searched, self._lookup, self._steps = None, False, None, 0
        info = {"question": self._record.question, "type": self._record.type, "level": self._record.level,
                "backend": getattr(self.corpus, "name", type(self.corpus).__name__)}
        return f"Question: {self._record.question}", info

    def _act(self, action: str) -> tuple[str, float, bool, Feedback, dict[str, Any]]:
        assert self._record is not None
        action, cut = bounded_action(action, MAX_ACTION_CHARS)
        note = f" {cut_note(MAX_ACTION_CHARS)}" if cut else ""
        parsed = parse_action_paper(action) if self.protocol == "paper" else parse_action(action)
        self._steps += 1
        info: dict[str, Any] = {"action": parsed.verb, "argument": parsed.argument}
        if parsed.verb == "finish":
            feedback = score_answer(parsed.argument, self._record)
            feedback = dataclasses.replace(feedback, message=feedback.message + note) if cut else feedback
            info["page"] = self._page.title if self._page else None
            return feedback.message, feedback.score, True, feedback, info
        observation = self._observe(parsed, info) + note
        info["page"] = self._page.title if self._page else None
        feedback = Feedback(success=None, score=0.0, message=NO_ANSWER_YET, privileged=privileged_text(self._record))
        return observation, 0.0, False, feedback, info

    def _observe(self, parsed: ParsedAction, info: dict[str, Any]) -> str:
        if parsed.verb is None:
            return parsed.error
        if parsed.verb == "think":
            return THINK_REPLY
        if parsed.verb == "search":
            return self._search(parsed.argument, info)
        return self._lookup_step(parsed.argument)

    def _search(self, entity: str, info: dict[str, Any]) -> str:
        if not entity:
            return "Search needs an entity between the brackets, e.g. Search[Scott Derrickson]."
        self._searched, self._lookup = True, None
        try:
            page = self.corpus.page(entity)
            similar = [] if page is not None else self.corpus.similar(entity, self.similar_k)
        except Exception as e:  # a live backend failing is the agent's observation, not a crash
            self._page = None
            info["backend_error"] = f"{type(e).__name__}: {e}"
            return "Could not find that page, please try again."
        self._page = page
        if page is None:
            return f"Could not find [{entity}]. Similar: {similar}"
        return " ".join(s.strip() for s in page.sentences[: self.page_sentences] if s.strip())

    def _lookup_step(self, keyword: str) -> str:
        if not keyword:
            return "Lookup needs a keyword between the brackets, e.g. Lookup[born]."
        if self._page is None:
            return LOOKUP_WITHOUT_PAGE if self._searched else "No page has been found yet: Search[entity] first, then Lookup[keyword] in that page."
        if self._lookup is None or self._lookup[0] != keyword:
            needle = keyword.lower()
            self._lookup = (keyword, [s.strip() for s in self._page.sentences if needle in s.lower()], 0)
        keyword, results, cursor = self._lookup
        if cursor >= len(results):
            return "No more results."
        self._lookup = (keyword, results, cursor + 1)
        return f"(Result {cursor + 1} / {len(results)}) {results[cursor]}"

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Answer one action; under `protocol="paper"` the 6th action without Finish ends the episode (truncated)."""
        observation, reward, terminated, truncated, info = super().step(action)
        if self.protocol == "paper" and not terminated and self._steps >= PAPER_MAX_STEPS:
            truncated, self._done = True, True
        return observation, reward, terminated, truncated, info
