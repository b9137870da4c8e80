"""Two fixes for decoding on a CPU, where a decode step of a few rows is dominated by the output layer.

Measured on the 2-core AVX2 machine this project runs on (torch 2.13 + MKL, gemma-3-270m: a 262,144 x
640 output layer; `benchmarks/llm_k_samples.py` is the end-to-end check):

* **The head matmul.** `F.linear(x, W)` computes `x @ W.T`; for a few rows MKL packs the whole
  262k-row weight on every call: 241 ms for 8 rows against 88 ms for one. The same product taken as
  `(W @ x.T).T` runs 93 ms for 8 rows (62 ms for 2, 257 ms for 32): `RowsFirstHead` computes the
  logits that way for up to `MAX_ROWS` rows, and through `F.linear` above (big prefills keep logits
  of every position only when asked to).
* **Sampling.** transformers draws a token with `torch.multinomial`, which draws one exponential
  random number per vocabulary entry: 66 ms per step for 8 rows. Inverse-CDF sampling (a cumulative
  sum and a binary search) draws the same distribution in ~1.5 ms. `InverseCDFSampler` is a logits
  processor that does that draw and leaves only the drawn token finite, so generation runs with
  `do_sample=False` and its argmax picks it.
"""

from __future__ import annotations

from typing import Any

#: Rows (sequence positions x batch) up to which the head is computed as `(W @ x.T).T`.
MAX_ROWS = 256
#: Nucleus (top-p) candidates looked at before falling back to sorting the whole vocabulary.
TOP_P_CANDIDATES = 1024


class RowsFirstHead:
    """Replaces the `forward` of a bias-free `nn.Linear` output layer; the weight stays shared (tied)."""

    def __init__(self, linear: Any) -> None:
        self.linear = linear

    def __call__(self, x: Any) -> Any:
        import torch.nn.functional as F

        weight = self.linear.weight
        rows = x.numel() // x.shape[-1]
        if rows > MAX_ROWS or self.linear.bias is not None or x.device.type != "cpu":
            return F.linear(x, weight, self.linear.bias)
        return (weight @ x.reshape(rows, x.shape[-1]).T).T.reshape(*x.shape[:-1], weight.shape[0])


def install_rows_first_head(model: Any) -> bool:
    """Route `model`'s output layer through `RowsFirstHead` (CPU, bias-free linear heads only)."""
    import torch

    head = model.get_output_embeddings()
    if not isinstance(head, torch.nn.Linear) or head.bias is not None or head.weight.device.type != "cpu":
        return False
    head.forward = RowsFirstHead(head)
    return True


class InverseCDFSampler:
    """transformers logits processor: temperature, optional top-p, then one inverse-CDF draw per row.

    Returns scores that are -inf everywhere but at the drawn token, so greedy decoding picks it. The
    draw uses torch's global generator (seeded by the backend), like `torch.multinomial` does.
    """

    def __init__(self, temperature: float, top_p: float = 1.0) -> None:
        if temperature <= 0:
            raise ValueError("InverseCDFSampler samples; use greedy decoding for temperature 0.")
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            candidates, index = self._nucleus(probs)
            chosen = index.gather(1, _draw(candidates))
        else:
            chosen = _draw(probs)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, chosen, 0.0)

    def _nucleus(self, probs: Any) -> tuple[Any, Any]:
        """Probabilities of each row's nucleus (others zeroed), in descending order, and their token ids."""
        import torch

        top, index = probs.topk(min(TOP_P_CANDIDATES, probs.shape[-1]), dim=-1)
        if bool((top.sum(-1) < self.top_p).any()):  # nucleus wider than the candidates: sort everything
            top, index = probs.sort(dim=-1, descending=True)
        mass_before = top.cumsum(-1) - top
        return torch.where(mass_before < self.top_p, top, torch.zeros_like(top)), index


def _draw(probs: Any) -> Any:
    """One token index per row, drawn with probability proportional to `probs` (rows need not sum to 1)."""
    import torch

    cdf = probs.cumsum(-1)
    u = torch.rand(probs.shape[0], 1, device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]
    # right=True: the first entry whose cdf exceeds u, so a zero-probability entry is never drawn
    return torch.searchsorted(cdf, u, right=True).clamp_(max=probs.shape[-1] - 1)
