"""`rerest report` on GQA, ALFWorld and HotpotQA runs (real episodes): pictures of the examples, task lines, stage notes."""

from __future__ import annotations

import base64
import io
import json
import re
from html import unescape

import pytest
from PIL import Image

from rerest_agents.report import load_run, write_report
from rerest_agents.report.examples import task_line
from rerest_agents.report.load import ALL_TASKS, RunData, task_group
from rerest_agents.report.pictures import PICTURE_WIDTH, Pictures, alfworld_events, alfworld_receptacles, renders_rgb
from rerest_agents.rollout import StepRecord, Trajectory, read_records
from rerest_agents.rollout.envs import make_env
from tests.agents.report_runs import TASKS, build_task_run


def _examples(path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index('id="examples"')
    return text[start: text.index("</section>", start)]


def _pictures(html: str) -> list[Image.Image]:
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    return [Image.open(io.BytesIO(base64.b64decode(u))) for u in uris]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(scope="module")
def gqa_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("gqa") / "gqa-cpu"
    return run, build_task_run(run, "gqa")


@pytest.fixture(scope="module")
def alfworld_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("alfworld") / "alfworld-cpu"
    return run, build_task_run(run, "alfworld")


def test_gqa_examples_show_the_envs_render_of_each_attempt(gqa_run):
    run, facts = gqa_run
    html = _examples(write_report(run))
    pictures = _pictures(html)
    assert len(pictures) == 2 * len(facts["repaired"])  # failed and repaired attempt of each example
    env_id, kwargs, _ = TASKS["gqa"]
    env = make_env(env_id, render_mode="rgb_array", **kwargs)
    try:
        for failed in facts["sampled"]:  # each picture is what the env's render() gives for that episode
            env.reset(options={"task_id": failed.task_id})
            env.step(failed.steps[-1].action)
            expected = env.render()
            assert any(p.size == (expected.shape[1], expected.shape[0]) and (Image.fromarray(expected).tobytes() == p.convert("RGB").tobytes())
                       for p in pictures)
    finally:
        env.close()
    assert "the env's render of the re-played episode" in _text(html)
    assert "unlike the record" not in html
    # the task is the question, not the answer-format line
    assert facts["sampled"][0].observation.splitlines()[0].split("Question:", 1)[1].strip() in _text(html)


def test_gqa_pictures_can_be_turned_off_and_are_bounded(gqa_run):
    run, facts = gqa_run
    assert _pictures(_examples(write_report(run, replay=False))) == []
    data = load_run(run)
    pictures = Pictures(data, max_replays=1)
    try:
        first, note = pictures.of(facts["sampled"][0])
        second, why = pictures.of(facts["sampled"][1])
    finally:
        pictures.close()
    assert first is not None and "re-played" in note
    assert second is None and "at most 1 episodes" in why


def test_a_replay_that_disagrees_with_the_record_says_so(tmp_path, gqa_run):
    source, facts = gqa_run
    run = tmp_path / "gqa-flipped"
    build_task_run(run, "gqa")
    path = run / "records" / "repaired.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["success"] = False  # the env will score the re-play a success
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert "re-play was scored a success, unlike the record" in _examples(write_report(run))


def test_an_env_that_cannot_be_rebuilt_leaves_a_note_not_a_crash(tmp_path, gqa_run):
    source, _ = gqa_run
    run = tmp_path / "gqa-bad-config"
    build_task_run(run, "gqa")
    (run / "config.yaml").write_text("env_id: rerest/GQA-v0\ntrain_env_kwargs: {split: no_such_split}\n")
    html = _examples(write_report(run))
    assert _pictures(html) == []
    assert "no picture: could not rebuild rerest/GQA-v0" in html


def test_alfworld_examples_are_drawn_from_the_record(alfworld_run):
    run, facts = alfworld_run
    assert not renders_rgb("rerest/ALFWorld-v0") and renders_rgb("rerest/GQA-v0")
    html = _examples(write_report(run, replay=False))  # no env needed
    pictures = _pictures(html)
    assert len(pictures) == 2 * len(facts["repaired"])
    assert all(p.size[0] == PICTURE_WIDTH for p in pictures)
    assert "drawn from the record (the ALFWorld env renders text only)" in html
    failed, repaired = facts["sampled"][0], facts["repaired"][0]
    assert task_line(failed.observation) in _text(html) and task_line(failed.observation).startswith(("look at", "put", "examine",
                                                                                                       "find", "clean", "heat", "cool"))
    rooms = alfworld_receptacles(failed.observation)
    assert len(rooms) >= 3 and all(re.fullmatch(r"[a-z]+ \d+", r) for r in rooms)
    visits, events = alfworld_events(failed)
    assert visits == [s.action[len("go to "):] for s in failed.steps if not s.observation.startswith("Nothing happens")]
    assert repaired.success
    _, done = alfworld_events(repaired)
    assert any(what.startswith("took ") for place in done for _, what in done[place])  # the expert plan takes the object


def test_alfworld_and_gqa_tasks_are_grouped_by_type_not_by_id(alfworld_run, gqa_run):
    alf = alfworld_run[1]["sampled"][0]
    assert task_group(alf) == alf.feedback["details"]["task_type"] and "/" not in task_group(alf)
    assert task_group(gqa_run[1]["sampled"][0]) == ALL_TASKS
    for task_id in ("5a8b57f25542995d1e6f1371", "601"):  # HotpotQA, MBPP: ids that name no group
        assert task_group(Trajectory(key="k", env_id="e", task_id=task_id, observation="")) == ALL_TASKS


def test_task_lines_of_each_env():
    assert task_line("You are an expert Python programmer, and here is your task: Write a function.\nYour code should pass these tests:\n\n"
                     "assert f(1) == 2\n\nAnswer with the complete Python function in a ```python code block.") == "Write a function."
    assert task_line("Question: Who won?\nAnswer with Search[...]") == "Who won?"
    assert task_line("Caption: a cat\nWrite the layout") == "a cat"
    assert task_line("\nno marker here\nsecond") == "no marker here"


def test_hotpotqa_report_names_questions_and_broken_episodes(tmp_path):
    run = tmp_path / "hotpotqa-cpu"
    facts = build_task_run(run, "hotpotqa")
    broken = Trajectory(key="sampled/x/1", env_id="rerest/HotpotQA-v0", task_id=facts["sampled"][0].task_id,
                        observation=facts["sampled"][0].observation,
                        error={"where": "env", "type": "TypeError", "message": "step() got an unexpected keyword"})
    repair = Trajectory(key="repaired/sampled/x/1", env_id="rerest/HotpotQA-v0", task_id=broken.task_id, observation=broken.observation,
                        origin="repaired", parent=broken.key)
    with (run / "records" / "sampled.jsonl").open("a") as f:
        f.write(broken.to_json() + "\n")
    with (run / "records" / "repaired.jsonl").open("a") as f:
        f.write(repair.to_json() + "\n")
    page = write_report(run)
    body = _text(page.read_text(encoding="utf-8"))
    examples = _text(_examples(page))
    question = task_line(facts["sampled"][0].observation)
    assert question and question in examples
    assert "broken (env) step() got an unexpected keyword" in examples and "(broken episode: no feedback)" in examples
    assert "(no reflection)" in examples
    # the skipped training stage: counted as finished, its note shown, the variant marked untrained
    assert "status complete (1 skipped)" in body
    assert "skipped no training data in agent_dm.jsonl: the variant uses the untrained model" in body
    assert "self-training (D_M) untrained*" in body
    assert "* train_agent_selftrain was skipped, so this variant is the untrained model" in body
    assert len(read_records(run / "records" / "sampled.jsonl")) == len(facts["sampled"]) + 1


def test_a_layout_answer_without_boxes_says_so(tmp_path):
    t = Trajectory(key="k", env_id="rerest/Layout-v0", task_id="t", observation="Caption: a cat",
                   steps=[StepRecord(model_text="x", action="3 cats on the left", observation="0 of 1 requirements met.")])
    uri, note = Pictures(RunData(run_dir=tmp_path)).of(t)
    assert uri is None and note == "no box could be read from this answer"
