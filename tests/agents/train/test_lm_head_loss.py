"""The fused LM head + loss equals plain logits + cross-entropy, value and gradients (small random tensors)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rerest_agents.train.lm_head_loss import linear_cross_entropy  # noqa: E402


@pytest.mark.parametrize("softcap", [None, 5.0])
@pytest.mark.parametrize("train_weight", [False, True])
def test_matches_autograd_of_plain_logits(softcap, train_weight):
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(37, 16, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(101, 16, generator=gen, dtype=torch.float64, requires_grad=train_weight)
    targets = torch.randint(0, 101, (37,), generator=gen)

    def plain(h, w):
        logits = h @ w.t()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        return torch.nn.functional.cross_entropy(logits, targets, reduction="sum")

    expected = plain(hidden, weight) * 0.3  # a scaled loss: the backward must scale the saved gradients
    expected_grads = torch.autograd.grad(expected, [hidden, weight] if train_weight else [hidden])
    fused = linear_cross_entropy(hidden, weight, targets, softcap=softcap, row_chunk=10) * 0.3  # 4 row tiles
    fused_grads = torch.autograd.grad(fused, [hidden, weight] if train_weight else [hidden])
    assert torch.allclose(fused, expected, rtol=1e-10)
    for got, want in zip(fused_grads, expected_grads):
        assert torch.allclose(got, want, rtol=1e-8, atol=1e-10)


def test_no_gradient_work_without_grad():
    hidden, weight = torch.randn(5, 8), torch.randn(11, 8)
    targets = torch.tensor([0, 1, 2, 3, 10])
    with torch.no_grad():
        value = linear_cross_entropy(hidden, weight, targets)
    plain = torch.nn.functional.cross_entropy(hidden @ weight.t(), targets, reduction="sum")
    assert torch.allclose(value, plain, rtol=1e-5) and not value.requires_grad
