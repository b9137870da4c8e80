"""ALFWorld on the real alfworld/TextWorld engine: the env, game discovery, the engine wrapper, expert
plans, and the offline game generator (`rerest_envs.alfworld.generator`). alfworld itself is imported
only when an engine is made (`pip install "rerest[alfworld]"`)."""

from rerest_envs.alfworld.check import GameCheck, check_games, check_split
from rerest_envs.alfworld.engine import EngineState, GameEngine, GameError
from rerest_envs.alfworld.env import PAPER_MAX_STEPS, PROTOCOLS, ALFWorldEnv, normalize_command, react_first_observation, react_observation
from rerest_envs.alfworld.expert import ExpertPlanError, expert_plan
from rerest_envs.alfworld.feedback import episode_feedback
from rerest_envs.alfworld.games import ALFWORLD_DATA_ENV, SPLITS, GameRecord, collect_games, find_games
from rerest_envs.alfworld.grammar import to_old_grammar
from rerest_envs.alfworld.planner import PlanJob, plan_game
from rerest_envs.alfworld.tasks import SHORT_NAMES, TASK_TYPES, parse_task_types, short_name, success_by_type

__all__ = ["ALFWORLD_DATA_ENV", "PAPER_MAX_STEPS", "PROTOCOLS", "SHORT_NAMES", "SPLITS", "TASK_TYPES", "ALFWorldEnv", "EngineState", "ExpertPlanError",
           "GameCheck", "GameEngine", "GameError", "GameRecord", "PlanJob", "check_games", "check_split", "collect_games",
           "episode_feedback", "expert_plan", "find_games", "normalize_command", "parse_task_types", "plan_game",
           "react_first_observation", "react_observation", "short_name", "success_by_type", "to_old_grammar"]
