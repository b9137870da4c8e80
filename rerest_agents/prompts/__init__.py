"""Few-shot exemplars written by the rerest authors, shipped as package data (one JSON per family).

Each file holds `{"instruction": str, "exemplars": [{"observation": str, "steps": [{"text": str,
"observation": str}]}]}`: the text a model should write at each step and what the env answered.
They are ours, not copies of the prompt files that come with the datasets.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=None)
def load_exemplars(family: str) -> dict[str, Any]:
    """The exemplar file `<family>.json` (e.g. `code`, `layout`, `hotpotqa`)."""
    try:
        text = resources.files(__name__).joinpath(f"{family}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyError(f"No exemplar file for {family!r} in rerest_agents/prompts.") from None
    return json.loads(text)
