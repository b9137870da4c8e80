"""Shared ALFWorld fixtures: one env over `valid_unseen` per test session (engines are costly to start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("alfworld", reason='ALFWorld tests need the engine: pip install "rerest[alfworld]" (dev/setup.sh installs it)')

from rerest_envs.alfworld import ALFWorldEnv  # noqa: E402

#: One valid_unseen game per task type (short name -> task id).
GAME_PER_TYPE = {
    "pick_and_place": "pick_and_place_simple-SoapBottle-None-Toilet-424/trial_T20190907_004321_405868",
    "look_at_obj_in_light": "look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542",
    "clean": "pick_clean_then_place_in_recep-SoapBar-None-Cabinet-424/trial_T20190908_215019_162873",
    "heat": "pick_heat_then_place_in_recep-Apple-None-GarbageCan-10/trial_T20190908_145356_918528",
    "cool": "pick_cool_then_place_in_recep-Bread-None-CounterTop-10/trial_T20190908_091747_866951",
    "pick_two": "pick_two_obj_and_place-ToiletPaper-None-Cabinet-424/trial_T20190906_202926_527010",
}


@pytest.fixture(scope="session")
def unseen_env() -> Iterator[ALFWorldEnv]:
    env = ALFWorldEnv(split="valid_unseen")
    yield env
    env.close()
