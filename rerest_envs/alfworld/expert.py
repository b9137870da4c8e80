"""The expert plan of an official game: ALFRED's high-level plan (`traj_data.json`) in TextWorld commands.

Every official game was generated from one ALFRED expert demonstration, whose `plan.high_pddl`
lists the high-level actions (`GotoLocation loc|0|5|1|60`, `PickupObject Bread|-00.78|+01.00|+00.21`,
`CoolObject Fridge|+00.97|+00.00|+01.25`, ...) with the same object ids the game's PDDL uses (mangled:
`|` -> `_bar_`, `-` -> `_minus_`, ...). Translating that plan against the game's initial facts gives
the paper's expert trajectory in a few milliseconds, where fast-downward needs ~1 s per game:

* GotoLocation -> `go to R`, R the receptacle the next action needs;
* PickupObject -> `open R` if R is closed, then `take O from R`;
* PutObject -> `open R` if needed, then `put O in/on R`;
* Heat/Cool/CleanObject -> `heat|cool|clean O with R`; ToggleObject -> `use L`;
* and `go to R` before any of these when R is not where the agent stands (ALFRED reaches some
  receptacles without a GotoLocation; TextWorld places each at one location).

A plan the translation cannot handle raises `ExpertPlanError`; the env then asks the planner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: planner action -> (command verb, receptacle type the action needs at the location).
APPLIANCE_ACTIONS = {"HeatObject": ("heat", "microwavetype"), "CoolObject": ("cool", "fridgetype"),
                     "CleanObject": ("clean", "sinkbasintype")}
IGNORED_ACTIONS = frozenset({"NoOp", "End"})


class ExpertPlanError(ValueError):
    """The high-level plan has an action or an id that the translation cannot map to a command."""


def mangle(alfred_id: str) -> str:
    """ALFRED id -> PDDL id as alfworld writes it (`Bread|-00.78|+01.00` -> `bread_bar__minus_00_dot_78_bar__plus_01_dot_00`)."""
    text = alfred_id.replace("|", "_bar_").replace("-", "_minus_").replace("+", "_plus_").replace(".", "_dot_").replace(",", "_comma_")
    return text.lower()


class _World:
    """The few facts the translation tracks: where receptacles and objects are, what is open."""

    def __init__(self, facts: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        self.receptacles_at: dict[str, list[str]] = defaultdict(list)
        self.location: dict[str, str] = {}
        self.agent_at = ""
        self.inside: dict[str, str] = {}
        self.rtype: dict[str, str] = {}
        self.openable: set[str] = set()
        self.opened: set[str] = set()
        for name, args in facts:
            if name == "receptacleatlocation":
                self.receptacles_at[args[1]].append(args[0])
                self.location[args[0]] = args[1]
            elif name == "atlocation":
                self.agent_at = args[1]
            elif name == "inreceptacle":
                self.inside[args[0]] = args[1]
            elif name == "receptacletype":
                self.rtype[args[0]] = args[1]
            elif name == "openable":
                self.openable.add(args[0])
            elif name == "opened":
                self.opened.add(args[0])
        for receps in self.receptacles_at.values():
            receps.sort()


def expert_plan(high_pddl: Sequence[Mapping[str, Any]], facts: Iterable[tuple[str, tuple[str, ...]]],
                names: Mapping[str, str]) -> list[str]:
    """Translate ALFRED's high-level plan into the game's commands.

    Args:
        high_pddl: `traj_data["plan"]["high_pddl"]`.
        facts: The game's initial facts (`GameEngine.facts()` right after reset).
        names: PDDL id -> name in the game (`GameEngine.entity_names()`).

    Raises:
        ExpertPlanError: an action or id the translation does not know.
    """
    world = _World(facts)
    actions = [dict(step.get("planner_action") or {}) for step in high_pddl]
    commands: list[str] = []
    held: str | None = None
    for i, action in enumerate(actions):
        kind = action.get("action", "")
        if kind in IGNORED_ACTIONS:
            continue
        if kind == "GotoLocation":
            target = _goto_target(world, action, actions[i + 1] if i + 1 < len(actions) else {})
            commands += _go(world, target, names)
        elif kind == "PickupObject":
            obj = mangle(action["objectId"])
            recep = world.inside.pop(obj, None)
            if recep is None:
                raise ExpertPlanError(f"PickupObject {action['objectId']}: the object is in no receptacle")
            commands += _go(world, recep, names) + _open_if_closed(world, recep, names)
            commands.append(f"take {_name(names, obj)} from {_name(names, recep)}")
            held = obj
        elif kind == "PutObject":
            recep = mangle(action.get("receptacleObjectId", ""))
            if held is None or recep not in world.rtype:
                raise ExpertPlanError(f"PutObject into {action.get('receptacleObjectId')!r} with {held!r} in hand")
            commands += _go(world, recep, names) + _open_if_closed(world, recep, names)
            commands.append(f"put {_name(names, held)} in/on {_name(names, recep)}")
            world.inside[held], held = recep, None
        elif kind in APPLIANCE_ACTIONS:
            verb = APPLIANCE_ACTIONS[kind][0]
            recep = mangle(action["objectId"])
            if held is None:
                raise ExpertPlanError(f"{kind} with nothing in hand")
            commands += _go(world, recep, names) + [f"{verb} {_name(names, held)} with {_name(names, recep)}"]
        elif kind == "ToggleObject":
            lamp = mangle(action["objectId"])
            commands += _go(world, world.inside.get(lamp, ""), names) + [f"use {_name(names, lamp)}"]
        else:
            raise ExpertPlanError(f"high-level action {kind!r} has no translation")
    return commands


def _goto_target(world: _World, goto: Mapping[str, Any], following: Mapping[str, Any]) -> str:
    """The receptacle to `go to`: the one at the goal location that the following action uses."""
    location = mangle(goto.get("location", ""))
    here = world.receptacles_at.get(location, [])
    kind = following.get("action", "")
    wanted: str | None = None
    if kind == "PickupObject" or kind == "ToggleObject":
        wanted = world.inside.get(mangle(following.get("objectId", "")))
    elif kind == "PutObject":
        wanted = mangle(following.get("receptacleObjectId", ""))
    elif kind in APPLIANCE_ACTIONS:
        wanted = mangle(following.get("objectId", ""))
    if wanted in world.location:  # ALFRED's standing spot may lie elsewhere: go where the thing is
        return wanted
    if here:
        return here[0]
    raise ExpertPlanError(f"GotoLocation {goto.get('location')!r}: no receptacle there and no target to infer")


def _go(world: _World, recep: str, names: Mapping[str, str]) -> list[str]:
    """`go to R` unless the agent already stands where R is (ALFRED often acts without moving where
    TextWorld puts the receptacle elsewhere, and TextWorld has no `go to` for the current place)."""
    if recep not in world.location or world.location[recep] == world.agent_at:
        return []
    world.agent_at = world.location[recep]
    return [f"go to {_name(names, recep)}"]


def _open_if_closed(world: _World, recep: str, names: Mapping[str, str]) -> list[str]:
    if recep in world.openable and recep not in world.opened:
        world.opened.add(recep)
        return [f"open {_name(names, recep)}"]
    return []


def _name(names: Mapping[str, str], pddl_id: str) -> str:
    if pddl_id not in names:
        raise ExpertPlanError(f"id {pddl_id!r} is not an entity of the game")
    return names[pddl_id]
