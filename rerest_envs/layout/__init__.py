"""Layout-to-image environment: VPGen layouts for a caption, scored by VPEval-style skill checks."""

from rerest_envs.layout.env import LayoutEnv
from rerest_envs.layout.generate import generate_tasks
from rerest_envs.layout.names import canonical, phrase_matches
from rerest_envs.layout.parse import GRID, LAYOUT_FORMAT, MAX_BOXES, OBJECTS_FORMAT, Box, format_layout, format_objects, parse_layout, parse_objects
from rerest_envs.layout.official import PROTOCOLS
from rerest_envs.layout.prompts import GENERATED_SETS, NSR1K_BROKEN_GT, PROMPT_SETS, load_prompt_set, load_records
from rerest_envs.layout.reference import reference_layout
from rerest_envs.layout.render import ImageStage, draw_layout
from rerest_envs.layout.scoring import CHECKS, score_layout
from rerest_envs.layout.task import CompareReq, ExcludeReq, LayoutTask, ObjectReq, RelationReq

__all__ = ["CHECKS", "GENERATED_SETS", "GRID", "LAYOUT_FORMAT", "MAX_BOXES", "NSR1K_BROKEN_GT", "OBJECTS_FORMAT", "PROMPT_SETS", "PROTOCOLS", "Box", "CompareReq",
           "ExcludeReq", "ImageStage", "LayoutEnv", "LayoutTask", "ObjectReq", "RelationReq", "canonical", "draw_layout",
           "format_layout", "format_objects", "generate_tasks", "load_prompt_set", "load_records", "parse_layout", "parse_objects", "phrase_matches",
           "reference_layout", "score_layout"]
