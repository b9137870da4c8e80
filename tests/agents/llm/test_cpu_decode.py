"""The CPU decode helpers compute the same logits and draw from the same distribution as transformers."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rerest_agents.llm.cpu_decode import MAX_ROWS, InverseCDFSampler, install_rows_first_head  # noqa: E402


class _TinyLM(torch.nn.Module):
    def __init__(self, vocab: int = 5000, hidden: int = 32) -> None:
        super().__init__()
        self.lm_head = torch.nn.Linear(hidden, vocab, bias=False)

    def get_output_embeddings(self) -> torch.nn.Module:
        return self.lm_head


@pytest.mark.parametrize("shape", [(1, 1, 32), (8, 1, 32), (3, 7, 32), (1, MAX_ROWS + 1, 32)])
def test_rows_first_head_gives_the_linear_layers_logits(shape):
    model = _TinyLM()
    x = torch.randn(*shape)
    expected = torch.nn.functional.linear(x, model.lm_head.weight)
    assert install_rows_first_head(model)
    got = model.lm_head(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_rows_first_head_leaves_heads_with_a_bias_alone():
    model = _TinyLM()
    model.lm_head = torch.nn.Linear(32, 10)
    assert not install_rows_first_head(model)


def _frequencies(sampler: InverseCDFSampler, logits: torch.Tensor, draws: int) -> torch.Tensor:
    torch.manual_seed(0)
    scores = logits.expand(draws, -1).clone()
    out = sampler(None, scores)
    assert torch.isfinite(out).sum(-1).eq(1).all(), "exactly one finite score per row"
    return torch.bincount(out.argmax(-1), minlength=logits.shape[-1]).float() / draws


def test_sampler_draws_the_softmax_distribution_at_the_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, float("-inf")]])
    for temperature in (0.5, 1.0, 2.0):
        freq = _frequencies(InverseCDFSampler(temperature), logits, 40_000)
        expected = torch.softmax(logits / temperature, -1)[0]
        assert freq[-1] == 0, "a -inf logit is never drawn"
        torch.testing.assert_close(freq, expected, atol=0.01, rtol=0)


@pytest.mark.parametrize("top_p", [0.3, 0.8, 0.95])
def test_sampler_top_p_matches_transformers_nucleus(top_p):
    from transformers import TopPLogitsWarper

    logits = torch.linspace(3, -3, 12)[None]
    kept = TopPLogitsWarper(top_p)(None, logits.clone())
    expected = torch.softmax(kept, -1)[0]
    freq = _frequencies(InverseCDFSampler(1.0, top_p), logits, 40_000)
    assert set(freq.nonzero().flatten().tolist()) == set(expected.nonzero().flatten().tolist())
    torch.testing.assert_close(freq, expected, atol=0.01, rtol=0)


def test_sampler_top_p_wider_than_the_candidates_sorts_everything(monkeypatch):
    import rerest_agents.llm.cpu_decode as cpu_decode

    monkeypatch.setattr(cpu_decode, "TOP_P_CANDIDATES", 2)  # a nucleus of 0.99 over a flat row of 8 holds all 8
    freq = _frequencies(InverseCDFSampler(1.0, 0.99), torch.zeros(1, 8), 16_000)
    torch.testing.assert_close(freq, torch.full((8,), 1 / 8), atol=0.015, rtol=0)


def test_sampler_refuses_temperature_zero():
    with pytest.raises(ValueError, match="greedy"):
        InverseCDFSampler(0.0)
