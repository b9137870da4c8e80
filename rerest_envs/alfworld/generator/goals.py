"""Goals for generated games: ALFRED's goal library (`alfworld/gen/goal_library.py`) on a scene.

For each task type this picks an object type and a receptacle (or lamp) type the scene can support
(an appliance for clean/heat/cool, two instances for pick_two, a lamp for look_at_obj_in_light),
never a goal that already holds at the start, and fills the library's PDDL goal and one of its
task sentences, as alfworld's own generator does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rerest_envs.alfworld.generator.scene import Scene, constants

#: task type -> (object property in VAL_ACTION_OBJECTS or None, appliance receptacle type or None).
REQUIREMENTS: dict[str, tuple[str | None, str | None]] = {
    "pick_and_place_simple": (None, None),
    "look_at_obj_in_light": (None, None),
    "pick_clean_then_place_in_recep": ("Cleanable", "SinkBasin"),
    "pick_heat_then_place_in_recep": ("Heatable", "Microwave"),
    "pick_cool_then_place_in_recep": ("Coolable", "Fridge"),
    "pick_two_obj_and_place": (None, None),
}


class NoGoal(ValueError):
    """The scene cannot support the task type (no appliance, no lamp, nothing to move)."""


@dataclass(frozen=True)
class Goal:
    """A task on a scene.

    Attributes:
        task_type: Official task type.
        obj: Object type to move (`Apple`).
        recep: Receptacle type to put it in ("" for look_at_obj_in_light).
        toggle: Lamp type ("" unless look_at_obj_in_light).
        sentence: The task sentence (`put a hot apple in countertop`; the grammar adds the full stop).
        pddl: The `(:goal ...)` block, closing the problem's `define` as in the library.
    """

    task_type: str
    obj: str
    recep: str
    toggle: str
    sentence: str
    pddl: str


def _pickable(scene: Scene) -> set[str]:
    lamps = set(constants().VAL_ACTION_OBJECTS["Toggleable"])
    return {t for t in scene.objects.values() if t not in lamps}


def choose_goal(task_type: str, scene: Scene, rng: random.Random) -> Goal:
    """A random goal of `task_type` that the scene supports; raises `NoGoal` when there is none."""
    c = constants()
    prop, appliance = REQUIREMENTS[task_type]
    if appliance and not scene.receptacles_of(appliance):
        raise NoGoal(f"FloorPlan{scene.floor_plan} has no {appliance}")
    candidates = sorted(_pickable(scene) & (set(c.VAL_ACTION_OBJECTS[prop]) if prop else _pickable(scene)))
    toggle = ""
    if task_type == "look_at_obj_in_light":
        lamps = sorted({t for t in scene.objects.values() if t in c.VAL_ACTION_OBJECTS["Toggleable"]})
        if not lamps or not candidates:
            raise NoGoal(f"FloorPlan{scene.floor_plan} has no lamp or nothing to hold")
        toggle, obj, recep = rng.choice(lamps), rng.choice(candidates), ""
    else:
        pairs = []
        for obj in candidates:
            for rtype in sorted(set(scene.receptacles.values())):
                if obj in c.VAL_RECEPTACLE_OBJECTS.get(rtype, ()) and rtype != appliance and not _holds_already(scene, obj, rtype):
                    pairs.append((obj, rtype))
        if not pairs:
            raise NoGoal(f"FloorPlan{scene.floor_plan} has no object/receptacle pair for {task_type}")
        obj, recep = rng.choice(pairs)
        if task_type == "pick_two_obj_and_place":
            homes = [r for r, t in sorted(scene.receptacles.items()) if obj in c.VAL_RECEPTACLE_OBJECTS.get(t, ()) and t != recep]
            while len(scene.objects_of(obj)) < 2:
                scene.add_object(obj, rng.choice(homes), rng)
    names = {"obj": obj.lower(), "recep": recep.lower(), "toggle": toggle.lower(), "mrecep": ""}
    from alfworld.gen import goal_library

    entry = goal_library.gdict[task_type]
    sentence = rng.choice(entry["templates"]).format(**names).strip()
    pddl = entry["pddl"].format(obj=obj, recep=recep, toggle=toggle, mrecep="").replace(" # ", " - ")
    return Goal(task_type, obj, recep, toggle, sentence, pddl)


def _holds_already(scene: Scene, obj: str, rtype: str) -> bool:
    """An instance of `obj` already sits in a receptacle of `rtype` (the goal would hold at once)."""
    return any(scene.objects[o] == obj and scene.receptacles[r] == rtype for o, r in scene.inside.items())
