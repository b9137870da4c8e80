"""Pieces every rerest env is built from: the text space, `Feedback`, the `TextEnv` base, and bounded action text."""

from rerest_envs.core.feedback import Feedback
from rerest_envs.core.spaces import AnyText
from rerest_envs.core.text import bounded_action, cut_note
from rerest_envs.core.text_env import TextEnv

__all__ = ["AnyText", "Feedback", "TextEnv", "bounded_action", "cut_note"]
