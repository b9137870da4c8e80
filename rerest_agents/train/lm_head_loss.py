"""Summed cross-entropy of `hidden @ weight.T` without keeping the logits: a fused LM head + loss.

Why not TRL's `ChunkedLogProbFunction` (what this replaced): it recomputes every logits tile in the
backward pass (three vocabulary-sized matrix products instead of two) and its CPU fallback makes
several passes over each tile. On gemma-3's 262k-entry head those passes, not the transformer body,
were most of a CPU training step. Here the gradient with respect to the hidden states is computed in
the forward pass, tile by tile, while each tile of logits is still in memory (the "fused linear cross
entropy" of Liger-Kernel): two matrix products per tile, one exp pass, and memory bounded by the
tile (`rows x vocab` floats) whatever the number of supervised tokens.

The price: the backward is a scaling of saved gradients, so this function is only correct for a
loss that is used once, linearly, per forward (true of a training step's loss).
"""

from __future__ import annotations

from typing import Any

import torch

#: Rows per logits tile: 512 x 262,144 fp32 logits = 512 MiB.
ROW_CHUNK = 512


class LinearCrossEntropy(torch.autograd.Function):
    """`sum_i CE(softcap(hidden_i @ weight.T), target_i)`; gradients for hidden (and weight if it trains)."""

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                softcap: float | None = None, row_chunk: int = ROW_CHUNK) -> torch.Tensor:
        need_hidden, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_hidden = torch.empty_like(hidden) if need_hidden else None
        grad_weight = torch.zeros_like(weight, dtype=torch.promote_types(weight.dtype, torch.float32)) if need_weight else None
        exact = torch.promote_types(hidden.dtype, torch.float32)  # bf16/fp16 logits are summed in fp32
        total = torch.zeros((), dtype=exact, device=hidden.device)
        for start in range(0, hidden.shape[0], row_chunk):
            h = hidden[start:start + row_chunk]
            t = targets[start:start + row_chunk]
            rows = torch.arange(h.shape[0], device=h.device)
            logits = (h @ weight.t()).to(exact)
            squash = None
            if softcap:
                squash = torch.tanh(logits / softcap)
                logits = squash * softcap
            picked = logits[rows, t]  # a copy: the tile is overwritten below
            # log-sum-exp by hand, so that its one exp pass over the tile also gives the softmax
            # (torch.logsumexp makes its own temporaries and passes: ~2x slower on this tile)
            peak = logits.amax(dim=-1, keepdim=True)
            probs = logits.sub_(peak).exp_()
            norm = probs.sum(dim=-1, keepdim=True)
            total += (norm.log() + peak).squeeze(1).sub(picked).sum()
            if not (need_hidden or need_weight):
                continue
            # d loss / d logits = softmax - one_hot(target), built in place over the logits tile
            probs.div_(norm)
            probs[rows, t] -= 1
            if squash is not None:
                probs.mul_(1 - squash * squash)
            probs = probs.to(weight.dtype)
            if need_hidden:
                grad_hidden[start:start + row_chunk] = probs @ weight
            if need_weight:
                grad_weight.addmm_(probs.t().to(grad_weight.dtype), h.to(grad_weight.dtype))
        ctx.save_for_backward(*(g for g in (grad_hidden, grad_weight) if g is not None))
        ctx.has, ctx.weight_dtype = (need_hidden, need_weight), weight.dtype
        return total

    @staticmethod
    def backward(ctx: Any, grad_total: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved = list(ctx.saved_tensors)
        need_hidden, need_weight = ctx.has
        grad_hidden = saved.pop(0) if need_hidden else None
        grad_hidden = grad_hidden * grad_total.to(grad_hidden.dtype) if grad_hidden is not None else None
        grad_weight = (saved.pop(0) * grad_total).to(ctx.weight_dtype) if need_weight else None
        return grad_hidden, grad_weight, None, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, *,
                         softcap: float | None = None, row_chunk: int = ROW_CHUNK) -> torch.Tensor:
    """Summed next-token cross-entropy of `hidden` [N, H] through an LM head `weight` [V, H] (no bias)."""
    return LinearCrossEntropy.apply(hidden, weight, targets, softcap, row_chunk)
