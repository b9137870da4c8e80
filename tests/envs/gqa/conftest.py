"""Fixtures for the GQA env tests: one env (and its warm sandbox) shared per module."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium
import pytest

import rerest_envs  # noqa: F401  (registers the ids)
from rerest_envs.gqa import GQAEnv


@pytest.fixture(scope="module")
def env() -> Iterator[GQAEnv]:
    made = gymnasium.make("rerest/GQA-v0", render_mode="rgb_array")
    yield made.unwrapped
    made.close()
