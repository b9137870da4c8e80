"""A random household scene from the floor plans that the alfworld package ships.

`alfworld/gen/layouts/FloorPlanN-objects.json` lists the object and receptacle types of each of the
120 AI2-THOR scenes ALFRED uses, and `FloorPlanN-openable.json` the receptacle instances with their
ids (`Cabinet|+00.68|+00.50|-02.20`) and the pose an agent stands at to use them. A scene here takes
those receptacles with their real ids and poses (so a location holds the receptacles one stands in
front of together, as in the official games), adds one instance of every receptacle type the scene
has but the file omits (sink basin, garbage can, toaster, ...; four stove burners), and scatters 1-3
instances of each pickable object type of the scene into receptacles that may hold it
(`constants.VAL_RECEPTACLE_OBJECTS`). Lamps stand on furniture where ALFRED has them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

#: Scenes of the official `valid_unseen` split: kept out of generated training games by default.
UNSEEN_SCENES = frozenset({10, 219, 308, 424})
#: Receptacle types a lamp may stand on (those ALFRED's scenes put lamps on).
LAMP_STANDS = ("Desk", "Dresser", "Shelf", "SideTable", "CoffeeTable", "Sofa", "ArmChair")
#: How many instances to synthesise of a receptacle type that the openable file omits.
SYNTHETIC_COUNT = {"StoveBurner": 4}
#: Object instances per pickable type.
MAX_INSTANCES = 3


@cache
def constants() -> Any:
    """`alfworld.gen.constants` (imported lazily: the package is an optional dependency)."""
    from alfworld.gen import constants as c

    return c


def layouts_dir() -> Path:
    return Path(constants().__file__).parent / "layouts"


def floor_plans() -> list[int]:
    """Numbers of the scenes whose layout files the package ships."""
    return sorted(int(p.name[len("FloorPlan"):-len("-objects.json")]) for p in layouts_dir().glob("FloorPlan*-objects.json"))


def pddl_id(alfred_id: str) -> str:
    """`Cabinet|+00.68|+00.50|-02.20` -> `Cabinet_bar__plus_00_dot_68_bar__plus_00_dot_50_bar__minus_02_dot_20`."""
    return alfred_id.replace("|", "_bar_").replace("-", "_minus_").replace("+", "_plus_").replace(".", "_dot_").replace(",", "_comma_")


def _coord(value: float) -> str:
    return f"{value:+06.2f}"


def _location(pose: list[float]) -> str:
    """Pose [x, z, rotation, horizon] -> `loc_bar_..` as ALFWorld writes it (grid units of 0.25 m)."""
    x, z, rot, horizon = pose
    parts = [str(int(round(x / 0.25))), str(int(round(z / 0.25))), str(int(rot) // 90), str(int(horizon))]
    return pddl_id("loc|" + "|".join(parts))


@dataclass
class Scene:
    """Receptacles and objects of one generated scene (ids as in the official PDDL problems).

    Attributes:
        floor_plan: The AI2-THOR scene number.
        receptacles: id -> receptacle type (`SinkBasin`, `Cabinet`, ...).
        locations: receptacle id -> location id.
        objects: id -> object type.
        inside: object id -> receptacle id.
        start: the agent's starting location.
    """

    floor_plan: int
    receptacles: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    inside: dict[str, str] = field(default_factory=dict)
    start: str = "loc_bar_0_bar_0_bar_0_bar_30"

    def types_present(self) -> set[str]:
        return set(self.receptacles.values()) | set(self.objects.values())

    def receptacles_of(self, rtype: str) -> list[str]:
        return sorted(r for r, t in self.receptacles.items() if t == rtype)

    def objects_of(self, otype: str) -> list[str]:
        return sorted(o for o, t in self.objects.items() if t == otype)

    def add_object(self, otype: str, recep: str, rng: random.Random) -> str:
        """Put a new instance of `otype` into `recep` (at a random position, for a unique id)."""
        while True:
            xyz = "|".join(_coord(rng.uniform(-4, 4)) for _ in range(3))
            oid = pddl_id(f"{otype}|{xyz}")
            if oid not in self.objects:
                self.objects[oid], self.inside[oid] = otype, recep
                return oid


def build_scene(floor_plan: int, rng: random.Random) -> Scene:
    """A scene of `floor_plan` with receptacles from its layout and randomly placed objects."""
    c = constants()
    types = set(json.loads((layouts_dir() / f"FloorPlan{floor_plan}-objects.json").read_text()))
    openable = json.loads((layouts_dir() / f"FloorPlan{floor_plan}-openable.json").read_text())
    scene = Scene(floor_plan)
    static = set(c.RECEPTACLES) - set(c.MOVABLE_RECEPTACLES)
    for alfred_id, pose in sorted(openable.items()):
        rtype = alfred_id.split("|")[0]
        if rtype == "Sink":  # ALFWorld's sinks are basins: Sink|x|y|z|SinkBasin
            rtype, alfred_id = "SinkBasin", f"{alfred_id}|SinkBasin"
        elif rtype == "Bathtub":
            rtype, alfred_id = "BathtubBasin", f"{alfred_id}|BathtubBasin"
        if rtype not in static:
            continue
        rid = pddl_id(alfred_id)
        scene.receptacles[rid], scene.locations[rid] = rtype, _location(pose)
    taken = set(scene.locations.values())
    for rtype in sorted((types & static) - set(scene.receptacles.values())):
        for _ in range(SYNTHETIC_COUNT.get(rtype, 1)):
            pose = [rng.uniform(-3, 3), rng.uniform(-3, 3), rng.choice((0, 90, 180, 270)), rng.choice((0, 30, 45, 60))]
            while _location(pose) in taken:  # a place of its own: standing in front of it shows only it
                pose[0] += 0.25
            taken.add(_location(pose))
            xyz = "|".join(_coord(v) for v in (pose[0], rng.uniform(0, 1.5), pose[1]))
            suffix = f"|{rtype}" if rtype.endswith("Basin") else ""
            rid = pddl_id(f"{rtype[:-5] if suffix else rtype}|{xyz}{suffix}")
            scene.receptacles[rid], scene.locations[rid] = rtype, _location(pose)
    scene.start = _location([rng.uniform(-3, 3), rng.uniform(-3, 3), rng.choice((0, 90, 180, 270)), 30])
    for otype in sorted(types - static):
        homes = [r for r, t in sorted(scene.receptacles.items()) if otype in c.VAL_RECEPTACLE_OBJECTS.get(t, ())]
        if otype in c.VAL_ACTION_OBJECTS["Toggleable"]:  # lamps are in no VAL_RECEPTACLE_OBJECTS list
            homes = [r for r, t in sorted(scene.receptacles.items()) if t in LAMP_STANDS]
        lamp = otype in c.VAL_ACTION_OBJECTS["Toggleable"]
        for _ in range((1 if lamp else rng.randint(1, MAX_INSTANCES)) if homes else 0):
            scene.add_object(otype, rng.choice(homes), rng)
    return scene
