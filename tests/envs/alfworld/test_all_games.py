"""Every official game (valid_unseen 134, valid_train 200) loads and is won by its expert plan in our env.

About 1-2 s per game (load, reset, ~8 steps), spread over two worker processes: marked slow.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rerest_envs.alfworld.check import check_split

SHARED = Path(os.environ["RERST_DATA_DIR"]) / "alfworld"
WELCOME = "-= Welcome to TextWorld, ALFRED! =-\n\n"


@pytest.mark.slow
@pytest.mark.parametrize(("split", "count"), [("valid_unseen", 134), ("valid_train", 200)])
def test_every_official_game_is_won_by_its_expert_plan(split: str, count: int) -> None:
    results = check_split(split, workers=2)
    assert len(results) == count
    failed = [f"{r.task_id}: {r.error}" for r in results if not r.won]
    assert failed == [], f"{len(failed)} games not won: {failed[:5]}"
    sources = [r.plan_source for r in results]
    assert sources.count("traj_data") >= 0.95 * count, "ALFRED's demonstrations should translate for nearly every game"
    if split == "valid_unseen":  # reset gives what ExpeL's runs saw (its goal strings end with "___<n>")
        expel = json.loads((SHARED / "valid_unseen_134_expel_order.json").read_text())
        expected = {e["gamefile"].split("valid_unseen/", 1)[1].rsplit("/", 1)[0]: e["goal"].rsplit("___", 1)[0] for e in expel}
        seen = {r.task_id: r.first_observation for r in results}
        assert set(seen) == set(expected)
        assert all(seen[t] == WELCOME + expected[t] for t in expected), [t for t in expected if seen[t] != WELCOME + expected[t]][:3]
