"""GQA by visual programs (ViperGPT's ImagePatch API), perception from scene graphs or neural models."""

from rerest_envs.gqa.answers import answers_match, normalize_answer, viper_answer, viper_match
from rerest_envs.gqa.data import SPLITS, GQAQuestion, load_questions, load_scene_graphs
from rerest_envs.gqa.env import ANSWER_FORMAT, PERCEPTIONS, PROTOCOLS, GQAEnv
from rerest_envs.gqa.perception import Detection, Perception, PerceptionServer, PerceptionUnavailable, SceneGraphPerception
from rerest_envs.gqa.perception.neural import NeuralConfig, NeuralPerception
from rerest_envs.gqa.program import RunOutcome, api_source, as_program, run_program

__all__ = ["ANSWER_FORMAT", "PERCEPTIONS", "PROTOCOLS", "SPLITS", "Detection", "GQAEnv", "GQAQuestion", "NeuralConfig", "NeuralPerception", "Perception", "PerceptionServer",
           "PerceptionUnavailable", "RunOutcome", "SceneGraphPerception", "answers_match", "api_source", "as_program",
           "load_questions", "load_scene_graphs", "normalize_answer", "run_program", "viper_answer", "viper_match"]
