"""Prefix caching for the hf backend: the KV cache of a prompt prefix shared by many prompts is
computed once and reused, as serving engines do (vLLM's automatic prefix caching, SGLang's radix cache).

Why: Re-ReST prompts are few-shot prompts. On the Layout task 517 of a prompt's 531 tokens are the
same instruction and exemplars, so a batch of 16 prompts used to prefill those 517 tokens 16 times,
and every later call (the next turn, the next stage, the next sample) again.

How (exact, not approximate): a batch is laid out exactly as the plain left-padded batch would be,
row i = `a_i` pads + its tokens, all rows `L + S` long, where `L` is the cached prefix length and
`a_i` = (`L + S`) - len(row i). The first `L` cache positions of row i must then hold `a_i` masked
pads followed by the prefix's first `L - a_i` tokens: that is the prefix's KV shifted right by
`a_i`. Each row's remaining `S` positions (its last `a_i` prefix tokens again, then its own suffix)
are prefilled as one batch. Keys carry their rotary position already, the attention mask and the
position ids are the plain path's, and sliding-window layers are filled through the cache's own
`update` (which keeps their last window), so each row sees what the plain path shows it: greedy
outputs match it (tests: `tests/agents/llm/test_prefix_cache.py`).

A cached prefix also serves any shorter prefix (a causal model's KV of a prefix is a slice of the
KV of a longer one), so the store keeps a few entries per adapter and looks for the longest
shared start. Entries are evicted least-recently-used, bounded in number and bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Shorter shared prefixes are not worth a separate prefill.
MIN_PREFIX_TOKENS = 32
#: A cached entry is used when it covers all but this many tokens of the batch's common prefix
#: (the rest is prefilled with each row's suffix); else the batch's own prefix is computed and stored.
REUSE_SLACK_TOKENS = 32


@dataclass
class PrefixEntry:
    """The KV of `tokens` under one adapter: per layer (keys, values), each [1, heads, len, head_dim]."""

    tokens: tuple[int, ...]
    layers: list[tuple[Any, Any]]

    @property
    def nbytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self.layers)


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by every row."""
    first, n = rows[0], min(len(r) for r in rows)
    for other in rows[1:]:
        i = 0
        limit = min(n, len(other))
        while i < limit and other[i] == first[i]:
            i += 1
        n = i
    return n


class PrefixStore:
    """An LRU of prefix KV caches keyed by (adapter, prefix tokens); bounded in entries and bytes."""

    def __init__(self, max_entries: int = 8, max_bytes: int = 1 << 30) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[tuple[str | None, tuple[int, ...]], PrefixEntry] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()

    def best(self, adapter: str | None, tokens: Sequence[int]) -> tuple[PrefixEntry | None, int]:
        """The entry sharing the longest start with `tokens` (and that length), most recent first on ties."""
        best, best_len = None, 0
        for (entry_adapter, _), entry in reversed(self._entries.items()):
            if entry_adapter != adapter:
                continue
            shared = common_prefix_length([entry.tokens, tokens])
            if shared > best_len:
                best, best_len = entry, shared
        if best is not None:
            self._entries.move_to_end((adapter, best.tokens))
        return best, best_len

    def put(self, adapter: str | None, entry: PrefixEntry) -> None:
        self._entries[(adapter, entry.tokens)] = entry
        self._entries.move_to_end((adapter, entry.tokens))
        while len(self._entries) > self.max_entries or (len(self._entries) > 1 and self.nbytes > self.max_bytes):
            self._entries.popitem(last=False)


def compute_prefix(model: Any, tokens: Sequence[int], device: str) -> PrefixEntry:
    """Prefill `tokens` once (batch 1) and keep every layer's full KV (sliding layers unclipped)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()  # no config: every layer keeps all its positions
    ids = torch.tensor([list(tokens)], device=device)
    model(input_ids=ids, attention_mask=torch.ones_like(ids), cache=cache, use_cache=True, logits_to_keep=1)
    layers = [(layer.keys, layer.values) for layer in cache.layers]
    return PrefixEntry(tuple(tokens), layers)


def batch_cache_from_prefix(model: Any, entry: PrefixEntry, length: int, pads: Sequence[int]) -> Any:
    """A DynamicCache for len(pads) rows whose first `length` positions are `pads[i]` masked slots and
    then the prefix's first `length - pads[i]` tokens (the plain left-padded layout)."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    for layer, (keys, values) in zip(cache.layers, entry.layers):
        rows_k, rows_v = [], []
        for pad in pads:
            k, v = keys[:, :, :length], values[:, :, :length]
            if pad:
                shift = min(pad, length)
                k = torch.cat([torch.zeros_like(k[:, :, :shift]), k[:, :, :length - shift]], dim=2)
                v = torch.cat([torch.zeros_like(v[:, :, :shift]), v[:, :, :length - shift]], dim=2)
            rows_k.append(k)
            rows_v.append(v)
        layer.update(torch.cat(rows_k), torch.cat(rows_v))  # sliding layers keep their window here
    return cache
