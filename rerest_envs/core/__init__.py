"""Pieces every rerest env is built from: the text space, `Feedback` and the `TextEnv` base."""

from rerest_envs.core.feedback import Feedback
from rerest_envs.core.spaces import AnyText
from rerest_envs.core.text_env import TextEnv

__all__ = ["AnyText", "Feedback", "TextEnv"]
