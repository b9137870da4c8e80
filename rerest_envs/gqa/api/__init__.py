"""ViperGPT's ImagePatch API (stdlib only; shipped as source into the sandbox by `rerest_envs.gqa.program`)."""

from rerest_envs.gqa.api.image_patch import (Image, ImagePatch, PerceptionError, best_image_match, bool_to_yesno,
                                             coerce_to_numeric, distance, llm_query)

__all__ = ["Image", "ImagePatch", "PerceptionError", "best_image_match", "bool_to_yesno", "coerce_to_numeric", "distance",
           "llm_query"]
