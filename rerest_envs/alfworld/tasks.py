"""The six ALFWorld task types: official names, the short names we accept, and ReAct's prompt keys.

Every selection surface (`task_types=` of the env, the generator's `--task-types`, per-type
reports) goes through `parse_task_types`, so all of them accept the same spellings: the official
`task_type` string of `traj_data.json`, our short name, ReAct's prompt key, or ALFWorld's config
number (1-6, as in its `base_config.yaml`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: official task_type -> (short name, ReAct prompt key, ALFWorld config number).
TASK_TYPES: dict[str, tuple[str, str, int]] = {
    "pick_and_place_simple": ("pick_and_place", "put", 1),
    "look_at_obj_in_light": ("look_at_obj_in_light", "examine", 2),
    "pick_clean_then_place_in_recep": ("clean", "clean", 3),
    "pick_heat_then_place_in_recep": ("heat", "heat", 4),
    "pick_cool_then_place_in_recep": ("cool", "cool", 5),
    "pick_two_obj_and_place": ("pick_two", "puttwo", 6),
}
#: Short names in ALFWorld's numbering order (what per-type reports use as keys).
SHORT_NAMES: tuple[str, ...] = tuple(short for short, _, _ in TASK_TYPES.values())

_ALIASES: dict[str, str] = {}
for _official, (_short, _react, _number) in TASK_TYPES.items():
    for _alias in (_official, _short, _react, str(_number)):
        _ALIASES[_alias] = _official


def official_name(name: str | int) -> str:
    """The official `task_type` for any accepted spelling.

    Raises:
        ValueError: the name is none of them (the message lists the valid choices).
    """
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    close = difflib.get_close_matches(key, list(_ALIASES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"Unknown ALFWorld task type {name!r}{hint}; choose from {list(SHORT_NAMES)} "
                     f"(or the official names {list(TASK_TYPES)}, or 1-6).")


def short_name(task_type: str) -> str:
    """Our short name (`heat`) for an official task type (`pick_heat_then_place_in_recep`)."""
    return TASK_TYPES[official_name(task_type)][0]


def react_key(task_type: str) -> str:
    """ReAct's prompt key (`put`, `clean`, `heat`, `cool`, `examine`, `puttwo`) for a task type."""
    return TASK_TYPES[official_name(task_type)][1]


def parse_task_types(names: str | int | Iterable[str | int] | None) -> tuple[str, ...]:
    """Official task types selected by `names` (None or "all": all six), in ALFWorld order."""
    if names is None or names == "all":
        return tuple(TASK_TYPES)
    if isinstance(names, (str, int)):
        names = [part for part in str(names).split(",") if part.strip()]
    chosen = {official_name(n) for n in names}
    if not chosen:
        raise ValueError(f"task_types selects nothing; pass None for all six or some of {list(SHORT_NAMES)}.")
    return tuple(t for t in TASK_TYPES if t in chosen)


def task_type_of_folder(folder_name: str) -> str | None:
    """The task type a json_2.1.1 task folder name starts with (`pick_heat_then_place_in_recep-Egg-...`)."""
    head = folder_name.split("-", 1)[0]
    return head if head in TASK_TYPES else None


def success_by_type(results: Iterable[tuple[str, bool]]) -> dict[str, float]:
    """Success rate per task type, as ALFWorld papers report it: `{short name: rate, ..., "all": rate}`.

    Args:
        results: `(task_type, success)` pairs; any accepted spelling of the type (e.g.
            `info["task_type"]` or `feedback.details["task_type"]`).
    """
    counts: dict[str, list[int]] = {}
    for task_type, success in results:
        won_total = counts.setdefault(short_name(task_type), [0, 0])
        won_total[0] += bool(success)
        won_total[1] += 1
    rates = {short: counts[short][0] / counts[short][1] for short in SHORT_NAMES if short in counts}
    total = sum(n for _, n in counts.values())
    if total:
        rates["all"] = sum(w for w, _ in counts.values()) / total
    return rates
