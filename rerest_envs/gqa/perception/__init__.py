"""Perception backends behind `ImagePatch`: the interface, the scene graph, and neural models (lazy)."""

from rerest_envs.gqa.perception.base import METHODS, Box, Detection, Perception, PerceptionServer, PerceptionUnavailable
from rerest_envs.gqa.perception.scene_graph import SceneGraphPerception

__all__ = ["METHODS", "Box", "Detection", "Perception", "PerceptionServer", "PerceptionUnavailable", "SceneGraphPerception"]
