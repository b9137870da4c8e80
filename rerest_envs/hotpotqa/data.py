"""HotpotQA records (distractor setting): loading, splits, and the ReAct/Re-ReST 500-question protocol.

Files, found through the data layer (task folder `hotpotqa`), in either of two forms:
  * the normalised jsonl of `../shared/data/hotpotqa` (`train_distractor.jsonl`, `dev_distractor.jsonl`),
    one record per line in the schema of that folder's README;
  * the official HotpotQA files (`hotpot_train_v1.1.json`, `hotpot_dev_distractor_v1.json`), which the
    data layer downloads into the user cache when nothing local has the jsonl.
`rerest_dev_questions.json` (ReAct's 7405 dev questions, no context) is used by split `react500` only.

Splits (task ids are HotpotQA `_id`s; `react500` questions without a record use `dev-<index>`):
  * `train`: official-train records with context; `dev`: official-dev records with context;
    `all`: both.
  * `eval500`: the paper's evaluation protocol: dev indices shuffled with `random.Random(233)`, first
    500. With the full official dev file that is the exact set; with the shared subset it is the
    README's substitute: dev records sorted by that shuffle rank, first 500 (80 real ones included).
  * `eval500_covered`: only the records of the real 500 that the loaded dev file holds.
  * `train_extended`: `train` plus the dev records outside `eval500` (for self-training rounds).
  * `react500`: the real 500 questions from `rerest_dev_questions.json`, with their record where
    the dev file has it; meant for `backend="wikipedia"` (most gold pages are not in the local corpus).
  * any path to a `.jsonl` (or official `.json`) file in the record schema; a missing
    `supporting_facts`, `context`, `type` or `level` is tolerated.
"""

from __future__ import annotations

import functools
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from rerest_envs.data import resolve_data_dir
from rerest_envs.errors import DataNotFound

TASK = "hotpotqa"
#: split part -> normalised jsonl file name (the shared data) and official file name (the download).
NORMALISED_FILES = {"train": "train_distractor.jsonl", "dev": "dev_distractor.jsonl"}
OFFICIAL_FILES = {"train": "hotpot_train_v1.1.json", "dev": "hotpot_dev_distractor_v1.json"}
QUESTIONS_FILE = "rerest_dev_questions.json"
#: Size of the official dev set and the ReAct/Re-ReST shuffle that picks its evaluation questions.
DEV_SIZE, EVAL_SEED, EVAL_SIZE = 7405, 233, 500
SPLITS = ("train", "dev", "all", "eval500", "eval500_covered", "train_extended", "react500")


@dataclass(frozen=True)
class HotpotRecord:
    """One HotpotQA question.

    Attributes:
        id: HotpotQA `_id` (or `dev-<index>` for a question known only from ReAct's question file).
        question: The question text.
        answer: The gold answer.
        type: `bridge` or `comparison` ("" when unknown).
        level: `easy`, `medium` or `hard` ("" when unknown).
        supporting_facts: `(title, sentence index)` pairs, or None when the source lacks them.
        context: `(title, sentences)` paragraphs (2 gold + distractors); empty when unknown.
        origin_split: `train` or `dev` (the official split), "" when unknown.
        rerest_dev_index: Index into ReAct's dev question file, or None.
        rerest_shuffle_rank: Position of that index in the `Random(233)` shuffle, or None.
    """

    id: str
    question: str
    answer: str
    type: str = ""
    level: str = ""
    supporting_facts: tuple[tuple[str, int], ...] | None = None
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    origin_split: str = ""
    rerest_dev_index: int | None = None
    rerest_shuffle_rank: int | None = None

    @property
    def gold_titles(self) -> tuple[str, ...]:
        """Titles of the supporting paragraphs, in first-mention order (empty when unknown)."""
        return tuple(dict.fromkeys(title for title, _ in self.supporting_facts or ()))

    @property
    def in_eval500(self) -> bool:
        """Whether the question is one of the real 500 ReAct/Re-ReST evaluation questions."""
        return self.rerest_shuffle_rank is not None and self.rerest_shuffle_rank < EVAL_SIZE


def eval_shuffle(n: int = DEV_SIZE, seed: int = EVAL_SEED) -> list[int]:
    """ReAct's order of the dev indices: `random.Random(233).shuffle(list(range(7405)))`."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def record_from_dict(raw: dict, *, origin: str = "") -> HotpotRecord:
    """A record from a normalised jsonl line or an official HotpotQA dict (`_id`, list-of-pairs)."""
    facts = raw.get("supporting_facts")
    context = raw.get("context") or ()
    if isinstance(context, dict):  # Hugging Face layout: {"title": [...], "sentences": [...]}
        context = list(zip(context["title"], context["sentences"]))
    if isinstance(facts, dict):
        facts = list(zip(facts["title"], facts["sent_id"]))
    return HotpotRecord(
        id=str(raw.get("id") or raw.get("_id") or ""),
        question=str(raw["question"]),
        answer=str(raw.get("answer", "")),
        type=str(raw.get("type") or ""),
        level=str(raw.get("level") or ""),
        supporting_facts=None if facts is None else tuple((str(t), int(i)) for t, i in facts),
        context=tuple((str(t), tuple(str(s) for s in sents)) for t, sents in context),
        origin_split=str(raw.get("origin_split") or origin),
        rerest_dev_index=raw.get("rerest_dev_index"),
        rerest_shuffle_rank=raw.get("rerest_shuffle_rank"),
    )


@functools.lru_cache(maxsize=16)
def _read(path: str, size: int, mtime_ns: int, origin: str) -> tuple[HotpotRecord, ...]:
    """Parse a record file once per process (keyed by its identity, so an edited file is re-read)."""
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".jsonl"):
        raws = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        raws = json.loads(text)
    records = [record_from_dict(raw, origin=origin) for raw in raws]
    if origin == "dev" and len(records) == DEV_SIZE and all(r.rerest_shuffle_rank is None for r in records):
        # The full official dev file is in ReAct's order: give each record its index and rank.
        rank = {index: position for position, index in enumerate(eval_shuffle())}
        records = [_with_rank(r, i, rank[i]) for i, r in enumerate(records)]
    for i, record in enumerate(records):
        if not record.id:
            records[i] = _replace(record, id=f"{Path(path).stem}-{i}")
    return tuple(records)


def _replace(record: HotpotRecord, **changes: object) -> HotpotRecord:
    return HotpotRecord(**{**record.__dict__, **changes})


def _with_rank(record: HotpotRecord, index: int, rank: int) -> HotpotRecord:
    return _replace(record, rerest_dev_index=index, rerest_shuffle_rank=rank)


def read_records(path: str | os.PathLike[str], origin: str = "") -> tuple[HotpotRecord, ...]:
    """All records of one file (`.jsonl` normalised records, or an official `.json` list)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise DataNotFound(f"HotpotQA record file {str(path)!r} does not exist; pass a .jsonl in the record schema or a split name from {list(SPLITS)}.")
    stat = path.stat()
    return _read(str(path), stat.st_size, stat.st_mtime_ns, origin)


def split_file(part: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The file holding split part `train` or `dev`: the normalised jsonl, else the official json."""
    try:
        return resolve_data_dir(TASK, data_dir, required=[NORMALISED_FILES[part]], download=False) / NORMALISED_FILES[part]
    except DataNotFound as local_error:
        try:
            return resolve_data_dir(TASK, data_dir, required=[OFFICIAL_FILES[part]]) / OFFICIAL_FILES[part]
        except DataNotFound:
            raise local_error from None


def load_part(part: str, data_dir: str | os.PathLike[str] | None = None) -> tuple[HotpotRecord, ...]:
    """The records of `train` or `dev`."""
    return read_records(split_file(part, data_dir), origin=part)


def _eval500(dev: tuple[HotpotRecord, ...]) -> list[HotpotRecord]:
    ranked = sorted((r for r in dev if r.rerest_shuffle_rank is not None), key=lambda r: r.rerest_shuffle_rank)
    return ranked[:EVAL_SIZE]


def _react500(data_dir: str | os.PathLike[str] | None, dev: tuple[HotpotRecord, ...]) -> list[HotpotRecord]:
    folder = resolve_data_dir(TASK, data_dir, required=[QUESTIONS_FILE])
    questions = json.loads((folder / QUESTIONS_FILE).read_text(encoding="utf-8"))
    known = {r.rerest_dev_index: r for r in dev if r.rerest_dev_index is not None}
    records = []
    for rank, index in enumerate(eval_shuffle(len(questions))[:EVAL_SIZE]):
        if index in known:
            records.append(known[index])
        else:
            q = questions[index]
            records.append(HotpotRecord(id=f"dev-{index}", question=q["question"], answer=q["answer"], type=q.get("type", ""),
                                        origin_split="dev", rerest_dev_index=index, rerest_shuffle_rank=rank))
    return records


def load_split(split: str | os.PathLike[str] = "eval500", data_dir: str | os.PathLike[str] | None = None) -> list[HotpotRecord]:
    """The records of `split` (a name from `SPLITS`, or a path to a record file), in a stable order.

    Raises:
        ValueError: `split` is neither a known split nor a path ending in .jsonl/.json.
        DataNotFound: the files are missing (the message names the fix).
    """
    name = os.fspath(split)
    if name.endswith((".jsonl", ".json")):
        return list(read_records(name))
    if name not in SPLITS:
        import difflib

        close = difflib.get_close_matches(name, SPLITS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"split={name!r} is not a HotpotQA split; choose one of {list(SPLITS)} or pass a .jsonl path.{hint}")
    if name == "train":
        return list(load_part("train", data_dir))
    dev = load_part("dev", data_dir)
    if name == "dev":
        return list(dev)
    if name == "all":
        return list(load_part("train", data_dir)) + list(dev)
    if name == "eval500":
        return _eval500(dev)
    if name == "eval500_covered":
        return [r for r in _eval500(dev) if r.in_eval500]
    if name == "react500":
        return _react500(data_dir, dev)
    held_out = {r.id for r in _eval500(dev)}
    return list(load_part("train", data_dir)) + [r for r in dev if r.id not in held_out]
