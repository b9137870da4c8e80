"""Code-generation environments: MBPP and HumanEval, judged by unit tests in a sandbox."""

from rerest_envs.code.env import ANSWER_FORMAT, CodeEnv
from rerest_envs.code.extract import extract_program
from rerest_envs.code.humaneval import HumanEvalEnv
from rerest_envs.code.humaneval_data import load_humaneval
from rerest_envs.code.mbpp import MBPPEnv
from rerest_envs.code.mbpp_data import KNOWN_BROKEN, SLOW_REFERENCES, SPLITS, load_mbpp
from rerest_envs.code.task import CodeTask

__all__ = ["ANSWER_FORMAT", "KNOWN_BROKEN", "SLOW_REFERENCES", "SPLITS", "CodeEnv", "CodeTask", "HumanEvalEnv", "MBPPEnv", "extract_program",
           "load_humaneval", "load_mbpp"]
