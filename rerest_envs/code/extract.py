"""Find the program inside what a model wrote.

Models answer code tasks in many wrappings; we accept the common ones, in this order:
  1. Markdown fences (```python ... ``` or bare ```), even when the closing fence is missing;
     with several blocks, the first one that defines the wanted function, else all joined.
  2. `[PYTHON] ... [/PYTHON]` (Re-ReST's and Code Llama's MBPP format), closing tag optional.
  3. `[BEGIN] ... [DONE]` (Austin et al.'s MBPP few-shot format), closing tag optional.
  4. Otherwise the whole text, as bare code.
"""

from __future__ import annotations

import re

#: Fence info strings accepted after ``` (any case): none, `python`, `python3`, `py`.
_FENCE_LANGS = ("", "python", "python3", "py")
_TAGS = (
    re.compile(r"\[PYTHON\](.*?)(?:\[/PYTHON\]|\Z)", re.S | re.I),
    re.compile(r"\[BEGIN\](.*?)(?:\[DONE\]|\Z)", re.S | re.I),
)


def extract_program(text: str, entry_point: str | None = None) -> tuple[str, str]:
    """Return `(program, how)`; `how` names the wrapping found (`fence`, `python-tag`, `begin-tag`, `bare`).

    Args:
        text: The model's answer.
        entry_point: The function the tests call; used to pick among several fenced blocks.
    """
    blocks = [b for b in _fenced_blocks(text) if b.strip()]
    if blocks:
        if entry_point:
            for block in blocks:
                if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", block, re.M):
                    return block.strip("\n"), "fence"
        return "\n\n".join(b.strip("\n") for b in blocks), "fence"
    for name, pattern in zip(("python-tag", "begin-tag"), _TAGS):
        match = pattern.search(text)
        if match and match.group(1).strip():
            return match.group(1).strip("\n"), name
    return text.strip("\n"), "bare"


def _fenced_blocks(text: str) -> list[str]:
    """The bodies of ``` fences, in linear time: a fence opens at ``` followed by an accepted info
    string and a newline, and closes at the next ``` (or the end of the text)."""
    blocks, pos = [], 0
    while True:
        start = text.find("```", pos)
        if start < 0:
            return blocks
        eol = text.find("\n", start + 3)
        if eol < 0:
            return blocks
        if text[start + 3:eol].strip(" \t").lower() not in _FENCE_LANGS:
            pos = start + 1  # as the regex it replaces: try the next backtick
            continue
        end = text.find("```", eol + 1)
        if end < 0:
            blocks.append(text[eol + 1:])
            return blocks
        blocks.append(text[eol + 1:end])
        pos = end + 3
