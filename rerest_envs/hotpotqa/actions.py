"""The HotpotQA action grammar (ReAct's three verbs) and its two parsers: lenient and ReAct's own.

`ACTION_GRAMMAR` is the one text that explains the actions: the env shows it after an invalid
action, and the harness's default prompt uses the same constant.

`parse_action` (`protocol="default"`, the default) accepts what language agents actually produce:
any case (`search[...]`, `SEARCH[...]`), a `Thought: ... Action 2: ...` transcript, round brackets or
a colon instead of square brackets, quotes around the argument (straight or curly), and a missing
closing bracket. Where an `Action:` marker is (`Action:`, `Action 2:`, `**Action:**`, at a line
start or after a sentence), the verb must follow it: `Thought: let me finish (soon). Action:
Search[X]` is `Search[X]`. Without a marker, a verb at a line start is read first, then the first
verb anywhere. The argument runs from the opening bracket to the last closing one on that line, so
`Finish[[O.S. 6 January] 1835]` keeps its inner brackets.

`parse_action_paper` (`protocol="paper"`) is ReAct's (`ysymyth/ReAct@6bdb3a1` `hotpotqa.ipynb`
`webthink` and `wikienv.py` `WikiEnv.step`): the text after the first `Action:` / `Action i:`
marker (up to ReAct's stop `\\nObservation`), stripped, its first letter lowercased
(`action[0].lower() + action[1:]`); then it must start with `search[`, `lookup[`, `finish[` or
`think[` and end with `]`, and the argument is everything between (several lines and curly quotes
included). Anything else is `Invalid action: <action>`.

Both run in time linear in the text: no two quantifiers can share a character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Verb = Literal["search", "lookup", "finish", "think"]

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
#: can share a character, and the part before `action` stays on one line.
_ACTION_MARKER = re.compile(r"(?im)^[^\S\n]*(?:\*+[^\S\n]*)?action\s*(?:\d+\s*)?(?:\*+\s*)?:")
#: The same marker anywhere a word starts (`... (soon). Action: Search[X]`).
_ANY_MARKER = re.compile(r"(?i)\baction\s*(?:\d+\s*)?(?:\*+\s*)?:")
_VERB = re.compile(r"(?i)\b(search|lookup|look\s+up|finish)\s*(\[|\(|:|\{)")
#: A verb right after a marker: only spaces, `*` and quotes between them.
_VERB_AFTER_MARKER = re.compile(r"""(?i)[\s*"'`]*(search|lookup|look\s+up|finish)\s*(\[|\(|:|\{)""")
_LINE_VERB = re.compile(r"(?im)^[^\S\n]*(search|lookup|look\s+up|finish)\s*(\[|\(|:|\{)")
_CLOSERS = {"[": "]", "(": ")", "{": "}"}
_QUOTES = "\"'`“”‘’"

#: ReAct's marker (webthink splits on `\nAction {i}: `; the fine-tuned Re-ReST format has no number).
_PAPER_MARKER = re.compile(r"Action(?: \d+)?: ?")
_PAPER_VERBS: tuple[Verb, ...] = ("search", "lookup", "finish", "think")


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


def _verb_match(text: str) -> re.Match[str] | None:
    for marker in (*_ACTION_MARKER.finditer(text), *_ANY_MARKER.finditer(text)):
        found = _VERB_AFTER_MARKER.match(text, marker.end())
        if found is not None:
            return found
    return _LINE_VERB.search(text) or _VERB.search(text)


def parse_action(text: str) -> ParsedAction:
    """Read one action from model text, leniently (`protocol="default"`); never raises.

    Returns:
        A `ParsedAction` with `verb` None and an `error` when no action can be read.
    """
    match = _verb_match(text)
    if match is None:
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ParsedAction(None, error=f"Invalid Action: no Search, Lookup or Finish action found in {shown!r}. {VALID_ACTIONS}")
    verb = "lookup" if match.group(1).lower().startswith("look") else match.group(1).lower()
    rest = text[match.end():]
    return ParsedAction(verb, _argument(rest.split("\n", 1)[0], match.group(2)))  # type: ignore[arg-type]


def paper_action_text(text: str) -> str:
    """The action string ReAct's `WikiEnv.step` receives for this model text (see the module docstring)."""
    marker = _PAPER_MARKER.search(text)
    action = text[marker.end():] if marker else text
    action = action.split("\nObservation", 1)[0].strip()
    return action[:1].lower() + action[1:]


def parse_action_paper(text: str) -> ParsedAction:
    """Read one action as ReAct does (`protocol="paper"`); never raises."""
    action = paper_action_text(text)
    for verb in _PAPER_VERBS:
        if action.startswith(f"{verb}[") and action.endswith("]"):
            return ParsedAction(verb, action[len(verb) + 1:-1])
    shown = action if len(action) <= 200 else action[:197] + "..."
    return ParsedAction(None, error=f"Invalid action: {shown}")
