"""A text space that holds any Python `str`.

Gymnasium's `spaces.Text` checks every character against a charset (alphanumerics by default), so
an observation with a space, a newline or an accented letter is "outside" it and `check_env` fails.
Our observations are arbitrary text (code, tracebacks, Wikipedia sentences), so `AnyText` keeps the
`Text` type (checkers and wrappers recognise it) but only checks type and length.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces

#: What `sample()` draws from: printable ASCII, so random actions look like real garbage text.
SAMPLE_CHARSET = string.printable


class AnyText(spaces.Text):
    """`spaces.Text` that contains every `str` of length `min_length..max_length`.

    Args:
        max_length: Longest string in the space (characters).
        min_length: Shortest string in the space; 0 so that an empty action is a valid (if useless) one.
        seed: Seed for `sample()`.
    """

    def __init__(self, max_length: int = 1_000_000, *, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length=max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"AnyText({self.min_length}, {self.max_length})"
