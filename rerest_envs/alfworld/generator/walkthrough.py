"""The walkthrough of a generated game, written from what the generator placed where.

The generator knows the scene it built, so the expert plan follows directly: go to the object's
receptacle (opening it if closed), take it, go to the appliance and heat/cool/clean it, go to a
target receptacle (opening it if needed) and put it there; twice for pick_two; take it to the lamp
and use the lamp for look_at_obj_in_light. This is as short as ALFRED's demonstrations and costs
nothing, where fast-downward needs seconds to minutes on a kitchen; `build.validate` then proves it
on the real engine (replayed from a fresh reset, it must win).
"""

from __future__ import annotations

from collections.abc import Mapping

from rerest_envs.alfworld.generator.goals import REQUIREMENTS, Goal
from rerest_envs.alfworld.generator.scene import Scene, constants

VERBS = {"Cleanable": "clean", "Heatable": "heat", "Coolable": "cool"}


class _Walker:
    """Writes commands while tracking where the agent is and what it opened."""

    def __init__(self, scene: Scene, names: Mapping[str, str]) -> None:
        self.scene, self.names = scene, {k.lower(): v for k, v in names.items()}
        self.at, self.opened, self.commands = scene.start, set[str](), list[str]()

    def name(self, pddl_id: str) -> str:
        return self.names[pddl_id.lower()]

    def go(self, recep: str) -> None:
        if self.scene.locations[recep] != self.at:
            self.commands.append(f"go to {self.name(recep)}")
            self.at = self.scene.locations[recep]

    def open(self, recep: str) -> None:
        if self.scene.receptacles[recep] in constants().OPENABLE_CLASS_LIST and recep not in self.opened:
            self.commands.append(f"open {self.name(recep)}")
            self.opened.add(recep)

    def take(self, obj: str) -> None:
        recep = self.scene.inside[obj]
        self.go(recep)
        self.open(recep)
        self.commands.append(f"take {self.name(obj)} from {self.name(recep)}")

    def put(self, obj: str, recep: str) -> None:
        self.go(recep)
        self.open(recep)
        self.commands.append(f"put {self.name(obj)} in/on {self.name(recep)}")


def walkthrough(scene: Scene, goal: Goal, names: Mapping[str, str]) -> list[str]:
    """The commands that achieve `goal` in `scene`; `names` maps PDDL ids to game names."""
    walker = _Walker(scene, names)
    objects = scene.objects_of(goal.obj)
    if goal.task_type == "look_at_obj_in_light":
        lamp = scene.objects_of(goal.toggle)[0]
        walker.take(objects[0])
        walker.go(scene.inside[lamp])
        walker.commands.append(f"use {walker.name(lamp)}")
        return walker.commands
    target = scene.receptacles_of(goal.recep)[0]
    prop, appliance = REQUIREMENTS[goal.task_type]
    for obj in objects[: 2 if goal.task_type == "pick_two_obj_and_place" else 1]:
        walker.take(obj)
        if prop and appliance:
            machine = scene.receptacles_of(appliance)[0]
            walker.go(machine)
            walker.commands.append(f"{VERBS[prop]} {walker.name(obj)} with {walker.name(machine)}")
        walker.put(obj, target)
    return walker.commands
