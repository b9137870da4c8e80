"""Fixtures for harness tests: the real embedded model, loaded once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def llm():
    """The embedded gemma-3-270m through the hf backend (converted from its GGUF on first use)."""
    pytest.importorskip("torch")
    from rerest_agents.llm import make_llm

    model = make_llm("hf")
    yield model
    model.close()
