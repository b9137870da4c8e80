"""rerest_envs: Gymnasium environments for language agents, text in and text out.

Importing this package registers every `rerest/...` id::

    import gymnasium, rerest_envs
    env = gymnasium.make("rerest/HumanEval-v0")

Without importing it first, `gymnasium.make("rerest_envs:rerest/HumanEval-v0")` imports it for you
(gymnasium >= 1.0 no longer loads `gymnasium.envs` entry points), and `gymnasium.register_envs(rerest_envs)`
tells linters the import is used. This package never imports the harness (`rerest_agents`).
"""

from rerest_envs.core import AnyText, Feedback, TextEnv
from rerest_envs.data import resolve_data_dir
from rerest_envs.registration import ENV_SPECS, register_envs, registered_ids

register_envs()

__all__ = ["ENV_SPECS", "AnyText", "Feedback", "TextEnv", "register_envs", "registered_ids", "resolve_data_dir"]
