"""Agent text made safe to read and to echo: a bounded length and valid UTF-8.

An env answers any agent, and RL or self-training optimises against it, so an action may be a
megabyte of whitespace or hold a lone surrogate (`"\\ud800"`, which no UTF-8 encoder accepts). An env
reads only the first part of an action (`bounded_action`) and says so in its observation
(`cut_note`), so the work of a step and the length of its observation have a bound; a lone surrogate
becomes U+FFFD before anything is parsed, so no observation, `info` or `Feedback` carries one.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def bounded_action(action: str, max_chars: int) -> tuple[str, bool]:
    """The part of `action` an env reads.

    Args:
        action: The agent's text.
        max_chars: How many characters are read.

    Returns:
        The first `max_chars` characters with every lone surrogate replaced by U+FFFD, and whether
        `action` was longer (then the observation should carry `cut_note(max_chars)`).
    """
    return _SURROGATE.sub("\ufffd", action[:max_chars]), len(action) > max_chars


def cut_note(max_chars: int) -> str:
    """The sentence an observation ends with when the action was cut to `max_chars` characters."""
    return f"(Only the first {max_chars:,} characters of the action were read.)"
