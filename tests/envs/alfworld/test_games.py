"""Finding games: split counts, task-type selection, archives unpacked once, one-line errors."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from rerest_envs.alfworld import SHORT_NAMES, find_games, parse_task_types, short_name, success_by_type
from rerest_envs.alfworld.games import ALFWORLD_DATA_ENV, archive_key, count_archived_games, split_folder
from rerest_envs.errors import DataNotFound

SHARED = Path(os.environ["RERST_DATA_DIR"]) / "alfworld"


@pytest.mark.parametrize(("split", "count"), [("valid_unseen", 134), ("valid_train", 200)])
def test_split_counts_match_alfworld(split: str, count: int) -> None:
    games = find_games(split)
    assert len(games) == count
    listed = (SHARED / f"gamefiles_{split}_{count}.txt").read_text().split()
    assert sorted(str(g.game_file).split("json_2.1.1/", 1)[1] for g in games) == sorted(p.split("json_2.1.1/", 1)[1] for p in listed)
    per_type = {short: len(find_games(split, task_types=short)) for short in SHORT_NAMES}
    assert sum(per_type.values()) == count and all(per_type.values())
    assert {short_name(g.task_type) for g in find_games(split, task_types="heat,cool")} == {"heat", "cool"}


@pytest.mark.parametrize(("split", "count"), [("valid_unseen", 134), ("valid_train", 200)])
def test_archived_games_are_counted_as_unpacked_ones_without_unpacking(split: str, count: int, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    assert count_archived_games(SHARED / f"json_2.1.1_{split}.tar.xz", split) == count
    assert not (tmp_path / "cache").exists()


def test_task_type_spellings() -> None:
    assert parse_task_types(["heat", "pick_cool_then_place_in_recep", 1, "examine"]) == (
        "pick_and_place_simple", "look_at_obj_in_light", "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep")
    with pytest.raises(ValueError, match=r"Unknown ALFWorld task type 'heet' \(did you mean 'heat'\?\)"):
        parse_task_types("heet")
    rates = success_by_type([("heat", True), ("pick_heat_then_place_in_recep", False), ("put", True), ("cool", False)])
    assert rates == {"pick_and_place": 1.0, "heat": 0.5, "cool": 0.0, "all": 0.5} and list(rates)[0] == "pick_and_place"


def test_data_layer_archives_are_unpacked_once_into_the_cache_keyed_by_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(ALFWORLD_DATA_ENV, raising=False)
    folder = split_folder("valid_train")  # through $RERST_DATA_DIR, as the tests point it at the shared data
    key = archive_key(SHARED / "json_2.1.1_valid_train.tar.xz")
    assert folder == tmp_path / "cache" / "alfworld" / "unpacked" / key / "json_2.1.1" / "valid_train"
    assert len(find_games("valid_train")) == 200
    assert [p.name for p in (tmp_path / "cache" / "alfworld" / "unpacked").iterdir()] == [key]  # no temporary folder left


def _small_archive(folder: Path, split: str, trials: int) -> Path:
    """A json_2.1.1_<split>.tar.xz holding the first `trials` trials of the shared archive."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"json_2.1.1_{split}.tar.xz"
    with tarfile.open(SHARED / f"json_2.1.1_{split}.tar.xz") as src, tarfile.open(target, "w:xz") as dst:
        kept: list[str] = []
        for member in src:
            parts = member.name.split("/")
            if len(parts) < 5 or not member.isfile():
                continue
            trial = "/".join(parts[2:4])
            if trial not in kept and len(kept) < trials and "movable" not in trial and "Sliced" not in trial:
                kept.append(trial)
            if trial in kept:
                dst.addfile(member, src.extractfile(member))
    return target


def test_explicit_data_dir_archive_is_read_not_shadowed_by_the_cache_and_not_copied(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERST_CACHE_DIR", str(tmp_path / "cache"))
    assert len(find_games("valid_unseen")) == 134  # the cache now holds the data layer's valid_unseen
    cached = sorted(p.relative_to(tmp_path / "cache") for p in (tmp_path / "cache").rglob("*"))
    mine = _small_archive(tmp_path / "mine", "valid_unseen", 3)
    games = find_games("valid_unseen", data_dir=mine.parent)
    assert len(games) == 3 and all(tmp_path / "cache" not in g.game_file.parents for g in games)
    assert sorted(p.relative_to(tmp_path / "cache") for p in (tmp_path / "cache").rglob("*")) == cached  # nothing copied
    _small_archive(tmp_path / "mine", "valid_unseen", 2)  # the same path, new content: read again
    assert len(find_games("valid_unseen", data_dir=mine.parent)) == 2
    assert len(find_games("valid_unseen")) == 134


def test_alfworld_data_variable_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = split_folder("valid_unseen")
    (tmp_path / "json_2.1.1").mkdir()
    (tmp_path / "json_2.1.1" / "valid_unseen").symlink_to(target)
    monkeypatch.setenv(ALFWORLD_DATA_ENV, str(tmp_path))
    assert split_folder("valid_unseen") == tmp_path / "json_2.1.1" / "valid_unseen"


def test_missing_data_is_one_line_naming_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataNotFound) as caught:
        find_games("valid_unseen", data_dir=tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path) in message and "data_dir=" in message and ALFWORLD_DATA_ENV in message
    (tmp_path / "empty_split" / "some_task" / "trial_1").mkdir(parents=True)
    with pytest.raises(DataNotFound, match=r"^No playable ALFWorld game under .*empty_split .*scripts/alfworld_generate.py"):
        find_games(str(tmp_path / "empty_split"))
    with pytest.raises(DataNotFound, match="neither an ALFWorld split"):
        find_games("valid_unsen")
    with pytest.raises(DataNotFound, match="valid_seen"):
        find_games("valid_seen", data_dir=SHARED)
