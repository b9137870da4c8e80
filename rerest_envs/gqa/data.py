"""GQA questions, scene graphs and images: finding them and telling what each question can run on.

Files live in the `gqa` data folder (explicit `data_dir=` > `$RERST_DATA_DIR/gqa` > the user cache;
no official download exists because GQA's files are hundreds of MB): `questions/<file>.jsonl`,
`scene_graphs/*.json` (GQA format, merged) and `images/<split>/<image_id>.jpg`. A question can run
on the `scene_graph` perception when its image has a graph, on `neural` when its image file exists.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rerest_envs.data import resolve_data_dir
from rerest_envs.errors import DataNotFound

#: split name -> question file (under `questions/`).
SPLITS: dict[str, str] = {
    "train_sample": "train_sample_with_scene_graphs.jsonl",
    "val_ood_tail": "val_gqaood_tail.jsonl",
    "val_exovip": "val_exovip_typestratified.jsonl",
    "testdev_ood": "testdev_gqaood.jsonl",
    "testdev_visprog": "testdev_visprog_with_images.jsonl",
    "codevqa50": "codevqa_incontext50_with_captions.jsonl",
}
#: Disjoint halves of `train_sample` for CPU runs that need a held-out set: the questions on every
#: third image (sorted ids; 5 images, 13 questions) are `sg_test`, the rest (9 images, 20) `sg_train`.
DERIVED: dict[str, tuple[str, bool]] = {"sg_train": ("train_sample", False), "sg_test": ("train_sample", True)}


@dataclass(frozen=True)
class GQAQuestion:
    """One GQA question and where its perception can come from.

    Attributes:
        question_id: GQA question id (the env's task id).
        image_id: GQA image id (`2402518`, `n161313`).
        question: The question text.
        answer: GQA's short answer; for VisProg testdev questions the weak label when it was judged
            correct, else None (such questions are run but not scored).
        answer_source: `gqa`, `weak` (a human-judged VisProg answer) or `none`.
        split: GQA split of the image (`train`, `val`, `testdev`, ...).
        graph: The image's scene graph (GQA format) or None.
        image_path: The image file, or None when it is not available.
        full_answer: GQA's full-sentence answer, when known.
        semantic: GQA's functional program as one string, when known.
    """

    question_id: str
    image_id: str
    question: str
    answer: str | None
    answer_source: str
    split: str
    graph: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    image_path: Path | None = None
    full_answer: str | None = None
    semantic: str | None = None

    def runnable_on(self) -> list[str]:
        """Perception backends that have what they need for this question."""
        return [name for name, ok in (("scene_graph", self.graph is not None), ("neural", self.image_path is not None)) if ok]


def gqa_dir(data_dir: str | Path | None = None) -> Path:
    """The `gqa` data folder (see module docstring); raises `DataNotFound` naming the fix."""
    return resolve_data_dir("gqa", data_dir, required=["questions"], download=False)


@lru_cache(maxsize=4)
def _scene_graphs(folder: str) -> dict[str, dict[str, Any]]:
    graphs: dict[str, dict[str, Any]] = {}
    for path in sorted((Path(folder) / "scene_graphs").glob("*.json")):
        with open(path, encoding="utf-8") as f:
            graphs.update(json.load(f))
    return graphs


def load_scene_graphs(data_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Every scene graph under `scene_graphs/`, keyed by image id (memoised per folder)."""
    return _scene_graphs(str(gqa_dir(data_dir)))


def _image_path(folder: Path, record: dict[str, Any]) -> Path | None:
    candidates = [folder / record["image_file"]] if record.get("image_file") else []
    candidates += [folder / "images" / str(record.get("split", "")) / f"{record['image_id']}.jpg",
                   folder / "images" / f"{record['image_id']}.jpg"]
    return next((p for p in candidates if p.is_file()), None)


def _answer(record: dict[str, Any]) -> tuple[str | None, str]:
    if record.get("answer") is not None:
        return str(record["answer"]), "gqa"
    weak = record.get("weak_label") or {}
    if weak.get("visprog_judged_correct") and weak.get("answer_if_judged_correct"):
        return str(weak["answer_if_judged_correct"]), "weak"
    return None, "none"


def load_questions(split: str = "train_sample", data_dir: str | Path | None = None) -> list[GQAQuestion]:
    """The questions of `split` (a name of `SPLITS`, or a `.jsonl` file path), file order.

    Raises:
        ValueError: Unknown split name (with the closest names).
        DataNotFound: The data folder or the split's file is missing.
    """
    folder = gqa_dir(data_dir)
    if split in DERIVED:
        parent, held_out = DERIVED[split]
        questions = load_questions(parent, folder)
        test_images = set(sorted({q.image_id for q in questions})[::3])
        return [q for q in questions if (q.image_id in test_images) == held_out]
    if split in SPLITS:
        path = folder / "questions" / SPLITS[split]
    elif split.endswith(".jsonl"):
        path = Path(split) if Path(split).is_absolute() else folder / "questions" / split
    else:
        names = sorted(SPLITS) + sorted(DERIVED)
        close = difflib.get_close_matches(split, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"split={split!r} is not a GQA split; choose one of {names} or a questions/*.jsonl file.{hint}")
    if not path.is_file():
        raise DataNotFound(f"GQA split {split!r} needs {path}, which does not exist; put the question file there or pass data_dir=... .")
    graphs = load_scene_graphs(folder)
    questions = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            answer, source = _answer(record)
            image_id = str(record["image_id"])
            questions.append(GQAQuestion(
                question_id=str(record["question_id"]), image_id=image_id, question=str(record["question"]),
                answer=answer, answer_source=source, split=str(record.get("split") or ""), graph=graphs.get(image_id),
                image_path=_image_path(folder, record), full_answer=record.get("full_answer"),
                semantic=record.get("semantic_str")))
    return questions


def missing_inputs_message(question: GQAQuestion, folder: Path | None = None) -> str:
    """One sentence for a question that has neither its image nor its scene graph."""
    where = f" under {folder}" if folder else ""
    return (f"Question {question.question_id} cannot run: neither image {question.image_id}'s file "
            f"(images/{question.split or '<split>'}/{question.image_id}.jpg) nor its scene graph (scene_graphs/*.json) "
            f"is in the GQA data folder{where}; add one of them, or pick a question of split 'train_sample' "
            f"(scene graphs) or 'testdev_visprog' (images).")


__all__ = ["DERIVED", "SPLITS", "GQAQuestion", "gqa_dir", "load_questions", "load_scene_graphs", "missing_inputs_message"]
