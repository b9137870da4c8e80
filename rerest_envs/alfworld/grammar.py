"""The command grammar of the json_2.1.1 games (ALFWorld <= 0.3), made the only one the env speaks.

The games of the paper, ReAct and Reflexion say `put X in/on Y`; alfworld 0.4.x (its package files
and its own download) says `move X to Y` and adds a `help` action. Prompts and trajectories are
written in the old words, so every game the env or the generator handles is brought to them:
`to_old_grammar` rewrites the two `move` templates and their feedback, names the location again on
arrival (`You arrive at loc 15.`, where 0.4 says the receptacle), drops `help` from the grammar and
the domain, lets a `Sink` clean again as the json_2.1.1 domain does, and leaves json_2.1.1 games
unchanged.
"""

from __future__ import annotations

import re
from typing import Any

_MOVE_TEMPLATE = 'template :: "move {o} to {r}"'
_PUT_TEMPLATE = 'template :: "put {o} in/on {r}"'
_MOVE_FEEDBACK = "You move the {o.name} to the {r.name}."
_PUT_FEEDBACK = "You put the {o.name} in/on the {r.name}."
_ARRIVE_NEW, _ARRIVE_OLD = '"rhs": "You arrive at {r.name}. ', '"rhs": "You arrive at {lend.name}. '
#: `action help { ... }` in a .twl2 grammar (up to the closing brace at the start of a line).
_HELP_ACTION = re.compile(r"\naction help \{.*?\n\}\n", re.S)
#: `(:action help ...)` in the PDDL domain (its block ends at the next action or the domain's end).
_HELP_DOMAIN = re.compile(r"\(:action help\b.*?\n\s*\)\s*\n\s*\)\s*\n", re.S)
_MOVE_COMMAND = re.compile(r"^move (.+) to (.+)$")
TASK_LINE = re.compile(r'"rhs": "Your task is to: ([^"]*)"')


def is_old_grammar(game: dict[str, Any]) -> bool:
    """Whether a game already speaks `put X in/on Y` and has no `help` action."""
    grammar = game.get("grammar", "")
    return _MOVE_TEMPLATE not in grammar and "action help {" not in grammar


def to_old_grammar(game: dict[str, Any]) -> dict[str, Any]:
    """The game in the json_2.1.1 grammar (a new dict; the argument is not changed)."""
    if is_old_grammar(game):
        return game
    grammar = game["grammar"].replace(_MOVE_TEMPLATE, _PUT_TEMPLATE).replace(_MOVE_FEEDBACK, _PUT_FEEDBACK).replace(_ARRIVE_NEW, _ARRIVE_OLD)
    grammar = _HELP_ACTION.sub("\n", grammar)
    domain = _HELP_DOMAIN.sub("\n", game["pddl_domain"]).replace(";(receptacleType ?r SinkType)", "(receptacleType ?r SinkType)")
    if "(:action help" in domain:  # keep the pair consistent: a domain action without grammar breaks the engine
        domain = game["pddl_domain"]
    walkthrough = game.get("walkthrough")
    if isinstance(walkthrough, list):  # a 0.4 walkthrough says `move X to Y` too
        walkthrough = [_MOVE_COMMAND.sub(r"put \1 in/on \2", str(c)) for c in walkthrough]
    return {**game, "grammar": grammar, "pddl_domain": domain, "walkthrough": walkthrough}


def task_sentence(game: dict[str, Any]) -> str:
    """The task line written into the game's grammar (`put a clean pot in diningtable.`)."""
    found = TASK_LINE.search(game.get("grammar", ""))
    return found.group(1) if found else ""
