"""The one catalogue of rerest env ids: one `register` call per id, string entry points.

String entry points keep `import rerest_envs` light: sandboxes, docker, alfworld and torch are
imported only when `gymnasium.make` builds an env that needs them. Step limits live here
(`max_episode_steps`), so gymnasium's `TimeLimit` reports truncation and envs do not count steps.
"""

from __future__ import annotations

import gymnasium

NAMESPACE = "rerest"

#: id -> (entry point, max_episode_steps); kwargs go through `gymnasium.make(id, **kwargs)`.
ENV_SPECS: dict[str, tuple[str, int | None]] = {
    # One-step envs terminate by themselves; a TimeLimit of 1 would also flag every answer truncated.
    f"{NAMESPACE}/MBPP-v0": ("rerest_envs.code.mbpp:MBPPEnv", None),
    f"{NAMESPACE}/HumanEval-v0": ("rerest_envs.code.humaneval:HumanEvalEnv", None),
    f"{NAMESPACE}/Layout-v0": ("rerest_envs.layout.env:LayoutEnv", None),
    f"{NAMESPACE}/HotpotQA-v0": ("rerest_envs.hotpotqa.env:HotpotQAEnv", 7),
    f"{NAMESPACE}/ALFWorld-v0": ("rerest_envs.alfworld.env:ALFWorldEnv", 50),
    f"{NAMESPACE}/GQA-v0": ("rerest_envs.gqa.env:GQAEnv", None),
}


def register_envs() -> None:
    """Register every rerest id with gymnasium (idempotent: ids already present are left alone)."""
    for env_id, (entry_point, max_steps) in ENV_SPECS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps)


def registered_ids() -> list[str]:
    """All rerest ids, in catalogue order (what the registry-wide tests iterate over)."""
    return list(ENV_SPECS)
