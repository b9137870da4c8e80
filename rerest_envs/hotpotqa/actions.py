"""The HotpotQA action grammar (ReAct's three verbs) and a lenient parser for what models write.

`ACTION_GRAMMAR` is the one text that explains the actions: the env shows it after an invalid
action, and the harness's default prompt uses the same constant. The parser accepts what language
agents actually produce: any case (`search[...]`, `SEARCH[...]`), a `Thought: ... Action 2: ...`
transcript (the text after the first `Action:` marker is read), round brackets or a colon instead
of square brackets, quotes around the argument, and a missing closing bracket. The argument runs
from the first opening bracket to the last closing one on that line, so `Finish[[O.S. 6 January] 1835]`
keeps its inner brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verb = Literal["search", "lookup", "finish"]

#: The action grammar, as ReAct's instruction words it (shared with the agent's default prompt).
ACTION_GRAMMAR = (
    "Solve a question answering task with interleaving Thought, Action, Observation steps. "
    "Thought can reason about the current situation, and Action can be three types:\n"
    "(1) Search[entity], which searches the exact entity on Wikipedia and returns the first paragraph if it exists. "
    "If not, it will return some similar entities to search.\n"
    "(2) Lookup[keyword], which returns the next sentence containing keyword in the last passage successfully found by Search.\n"
    "(3) Finish[answer], which returns the answer and finishes the task.\n"
    "Examples: Search[Scott Derrickson], Lookup[nationality], Finish[yes]."
)
#: The short form shown after an unreadable action.
VALID_ACTIONS = "Valid Actions are Search[<entity>], Lookup[<keyword>] and Finish[<answer>]."

#: `Action:`, `Action 2:`, `**Action:**` at the start of a line. Linear in the text: no two quantifiers
#: can share a character, and the part before `action` stays on one line (this reads the same markers as
#: `^\s*\**\s*action\s*\d*\s*\**\s*:`, which backtracks cubically over runs of whitespace).
_ACTION_MARKER = re.compile(r"(?im)^[^\S\n]*(?:\*+[^\S\n]*)?action\s*(?:\d+\s*)?(?:\*+\s*)?:")
_VERB = re.compile(r"(?i)\b(search|lookup|look\s+up|finish)\s*(\[|\(|:|\{)")
_CLOSERS = {"[": "]", "(": ")", "{": "}"}
_QUOTES = "\"'`“”‘’"


@dataclass(frozen=True)
class ParsedAction:
    """What the parser read: a verb and its argument, or an error in plain words."""

    verb: Verb | None
    argument: str = ""
    error: str = ""


def _argument(line: str, opener: str) -> str:
    closer = _CLOSERS.get(opener)
    if closer is not None and closer in line:
        line = line[: line.rindex(closer)]
    argument = line.strip()
    if len(argument) >= 2 and argument[0] in _QUOTES and argument[-1] in _QUOTES:
        argument = argument[1:-1].strip()
    return argument


def parse_action(text: str) -> ParsedAction:
    """Read one action from model text; never raises.

    Returns:
        A `ParsedAction` with `verb` None and an `error` when no action can be read.
    """
    marker = _ACTION_MARKER.search(text)
    body = text[marker.end():] if marker else text
    match = _VERB.search(body)
    if match is None:
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ParsedAction(None, error=f"Invalid Action: no Search, Lookup or Finish action found in {shown!r}. {VALID_ACTIONS}")
    verb = "lookup" if match.group(1).lower().startswith("look") else match.group(1).lower()
    rest = body[match.end():]
    return ParsedAction(verb, _argument(rest.split("\n", 1)[0], match.group(2)))  # type: ignore[arg-type]
