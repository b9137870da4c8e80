"""Offline generation of new solvable ALFWorld games from what the alfworld package ships (floor-plan
layouts, object/receptacle constants, goal library, PDDL domain and grammar), validated by the planner
and written as a json_2.1.1-style tree that `rerest/ALFWorld-v0` plays with `split=<folder>`."""

from rerest_envs.alfworld.generator.build import (
    MAX_PLAN,
    GeneratedGame,
    GenerationError,
    generate_game,
    generate_split,
    validate,
    write_game,
)
from rerest_envs.alfworld.generator.goals import Goal, NoGoal, choose_goal
from rerest_envs.alfworld.generator.scene import UNSEEN_SCENES, Scene, build_scene, floor_plans

__all__ = ["MAX_PLAN", "UNSEEN_SCENES", "GeneratedGame", "GenerationError", "Goal", "NoGoal", "Scene", "build_scene",
           "choose_goal", "floor_plans", "generate_game", "generate_split", "validate", "write_game"]
