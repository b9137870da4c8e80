"""SFT records -> token ids + labels, with the loss only on the model's own tokens.

A record is `{"prompt", "completion", "segments": [{"text", "loss"}]}` (`rerest_agents/export.py`);
without `segments` the whole completion is the model's. The prompt is tokenized with the
tokenizer's special tokens (BOS), each segment on its own, and EOS closes the sequence (trained, so
that the model learns to stop). Labels are -100 on the prompt and on `loss: False` segments (env
observations between ReAct turns). Too long: the prompt loses its start (few-shot exemplars come
first; BOS is kept), then the completion loses its end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rerest_agents.errors import ConfigError

IGNORE = -100


def _segments(record: dict[str, Any], index: int) -> list[dict[str, Any]]:
    if "prompt" not in record or "completion" not in record:
        raise ConfigError(f"SFT record {index} needs 'prompt' and 'completion' keys, got {sorted(record)}.")
    segments = record.get("segments")
    if not segments:
        return [{"text": record["completion"], "loss": True}]
    if "".join(s["text"] for s in segments) != record["completion"]:
        raise ConfigError(f"SFT record {index}: its segments do not add up to its completion.")
    return segments


def tokenize_sft(records: Iterable[dict[str, Any]], tokenizer: Any, max_length: int) -> list[dict[str, list[int]]]:
    """`[{"input_ids", "labels"}]`, one per record that keeps at least one supervised token."""
    out = []
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    for i, record in enumerate(records):
        prompt_ids = tokenizer(record["prompt"] if "prompt" in record else "", add_special_tokens=False)["input_ids"]
        ids: list[int] = []
        labels: list[int] = []
        for segment in _segments(record, i):
            seg = tokenizer(segment["text"], add_special_tokens=False)["input_ids"]
            ids += seg
            labels += seg if segment["loss"] else [IGNORE] * len(seg)
        if tokenizer.eos_token_id is not None:
            ids.append(tokenizer.eos_token_id)
            labels.append(tokenizer.eos_token_id)
        room = max_length - len(bos)
        completion_room = min(len(ids), room - 1) if room > 1 else 0  # keep >= 1 prompt token if there is one
        if not prompt_ids:
            completion_room = min(len(ids), room)
        ids, labels = ids[:completion_room], labels[:completion_room]
        prompt_keep = prompt_ids[len(prompt_ids) - min(len(prompt_ids), room - len(ids)):] if room > len(ids) else []
        input_ids = bos + prompt_keep + ids
        full_labels = [IGNORE] * (len(bos) + len(prompt_keep)) + labels
        if any(label != IGNORE for label in full_labels[1:]):
            out.append({"input_ids": input_ids, "labels": full_labels})
    return out


def supervised_text(example: dict[str, list[int]], tokenizer: Any) -> str:
    """The text the loss is taken on (for checks and debugging)."""
    return tokenizer.decode([t for t, label in zip(example["input_ids"], example["labels"]) if label != IGNORE])
