"""Writing a generated scene and goal as an ALFWorld PDDL problem and a `game.tw-pddl` file.

The problem follows the official `initial_state.pddl` files: every object and receptacle type is
declared (`AppleType - otype`, `FridgeType - rtype`), ids keep ALFRED's mangled form, each object
has its location, container and properties (`pickupable`, `heatable`, `toggleable`, ...), each
receptacle its type, location and `openable`, and `canContain` lists what each present receptacle
type may hold. The game file embeds the alfworld package's domain and grammar brought to the old
command grammar (`put X in/on Y`, no `help`), with the task sentence written into the grammar.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from rerest_envs.alfworld.generator.goals import Goal
from rerest_envs.alfworld.generator.scene import Scene, constants
from rerest_envs.alfworld.grammar import to_old_grammar

#: Object properties written from `constants.VAL_ACTION_OBJECTS`.
PROPERTIES = (("heatable", "Heatable"), ("coolable", "Coolable"), ("cleanable", "Cleanable"),
              ("sliceable", "Sliceable"), ("toggleable", "Toggleable"))
#: Receptacle types the domain names in its actions: declared even when the scene lacks them.
DOMAIN_RTYPES = ("SinkBasin", "Microwave", "Fridge", "Sink")


@cache
def package_logic() -> tuple[str, str]:
    """The alfworld package's PDDL domain and TextWorld grammar, in the old command grammar."""
    folder = Path(constants().__file__).parent.parent / "data"
    game = {"pddl_domain": (folder / "alfred.pddl").read_text(), "grammar": (folder / "alfred.twl2").read_text()}
    old = to_old_grammar(game)
    return old["pddl_domain"], old["grammar"]


def _types() -> tuple[list[str], list[str]]:
    c = constants()
    rtypes = sorted((set(c.RECEPTACLES) - set(c.MOVABLE_RECEPTACLES)) | set(DOMAIN_RTYPES))
    otypes = sorted((set(c.OBJECTS) | set(c.MOVABLE_RECEPTACLES) | {"Knife", "ButterKnife"}) - set(rtypes))
    return otypes, rtypes


def problem_text(scene: Scene, goal: Goal, name: str) -> str:
    """The PDDL problem of a scene and goal, in the layout of the official files."""
    c = constants()
    otypes, rtypes = _types()
    lamps = set(c.VAL_ACTION_OBJECTS["Toggleable"])
    locations = sorted({scene.start, *scene.locations.values()})
    lines = [f"(define (problem {name})", "(:domain alfred)", "(:objects", "agent1 - agent"]
    lines += [f"        {t}Type - otype" for t in otypes] + [f"        {t}Type - rtype" for t in rtypes]
    lines += [f"        {o} - object" for o in sorted(scene.objects)]
    lines += [f"        {r} - receptacle" for r in sorted(scene.receptacles)]
    lines += [f"        {loc} - location" for loc in locations]
    lines += ["        )", "    (:init", "", "", f"        (atLocation agent1 {scene.start})"]
    for rtype in sorted(set(scene.receptacles.values())):
        lines += [f"        (canContain {rtype}Type {o}Type)" for o in sorted(c.VAL_RECEPTACLE_OBJECTS.get(rtype, ())) if o in otypes]
    for rid, rtype in sorted(scene.receptacles.items()):
        lines += [f"        (receptacleType {rid} {rtype}Type)", f"        (receptacleAtLocation {rid} {scene.locations[rid]})"]
        if rtype in c.OPENABLE_CLASS_LIST:
            lines.append(f"        (openable {rid})")
    for oid, otype in sorted(scene.objects.items()):
        recep = scene.inside[oid]
        lines += [f"        (objectType {oid} {otype}Type)", f"        (inReceptacle {oid} {recep})",
                  f"        (objectAtLocation {oid} {scene.locations[recep]})"]
        if otype not in lamps:
            lines.append(f"        (pickupable {oid})")
        if otype in c.MOVABLE_RECEPTACLES:
            lines.append(f"        (isReceptacleObject {oid})")
        lines += [f"        ({pred} {oid})" for pred, key in PROPERTIES if otype in c.VAL_ACTION_OBJECTS[key]]
    lines += ["        )", goal.pddl.strip("\n")]
    return "\n".join(lines) + "\n"


def game_data(scene: Scene, goal: Goal, name: str) -> dict[str, Any]:
    """The `game.tw-pddl` content (walkthrough and solvable are filled in by validation)."""
    domain, grammar = package_logic()
    return {"pddl_domain": domain, "grammar": grammar.replace("UNKNOWN GOAL", goal.sentence),
            "pddl_problem": problem_text(scene, goal, name), "solvable": False, "walkthrough": None}
