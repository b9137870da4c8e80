"""`rerest report`: the HTML page of a run directory built from real Layout-v0 episodes and real exports."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rerest_agents.agent import template_for
from rerest_agents.cli import app
from rerest_agents.export import agent_sft, dpo_pairs, reflector_sft, write_jsonl
from rerest_agents.report import METRIC_DEFINITIONS, load_run, write_report
from rerest_agents.rollout import RecordWriter, StepRecord, Trajectory
from rerest_agents.rollout.envs import make_env
from rerest_envs.layout import Box, format_layout, reference_layout

ENV_ID = "rerest/Layout-v0"
XSS = "<script>alert('x')</script>"


def _answers(task, good: bool) -> tuple[str, str]:
    """(objects, boxes) for a task: the env's reference layout, or one with its last box dropped."""
    boxes = list(reference_layout(task))
    if not good:
        boxes = boxes[:-1] if len(boxes) > 1 else [Box(boxes[0].phrase + " sign", *(1, 1, 5, 5))]
    counts: dict[str, int] = {}
    for b in boxes:
        counts[b.phrase] = counts.get(b.phrase, 0) + 1
    return ", ".join(f"{p} ({n})" for p, n in counts.items()), format_layout(boxes)


def _play(env, task_id: str, good: bool, key: str, *, origin="sampled", parent=None, reflection=None, model_note="") -> Trajectory:
    """One real two-step episode with scripted actions, recorded as the rollout engine records it."""
    observation, _ = env.reset(options={"task_id": task_id})
    first = observation
    steps, info = [], {}
    for action in _answers(env.unwrapped.tasks[task_id], good):
        observation, reward, terminated, _, info = env.step(action)
        steps.append(StepRecord(model_text=action + model_note, action=action, observation=observation, reward=float(reward)))
    feedback = info["feedback"].to_dict()
    return Trajectory(key=key, env_id=ENV_ID, task_id=task_id, observation=first, steps=steps, feedback=feedback,
                      success=bool(feedback["success"]), score=float(feedback["score"]), origin=origin, parent=parent,
                      reflection=reflection, model="gemma-3-270m", template="layout", seed=0)


def build_run_dir(run: Path, *, complete: bool = False) -> dict:
    """A run directory as the pipeline writes it, from real episodes of rerest/Layout-v0 (eval_dpo missing unless `complete`)."""
    (run / "records").mkdir(parents=True)
    (run / "config.yaml").write_text(f"env_id: {ENV_ID}\nmodel: gemma-3-270m\nsample:\n  k: 2\nnote: \"{XSS}\"\n")
    train = make_env(ENV_ID, split="train", num_prompts=6)
    sampled, repaired = [], []
    with RecordWriter(run / "records" / "sampled.jsonl") as writer:
        for t, task_id in enumerate(train.unwrapped.task_ids):
            for i in range(2):
                note = f" {XSS}" if (t, i) == (1, 0) else ""
                sampled.append(_play(train, task_id, good=(i == 0 and t % 2 == 0), key=f"sampled/{task_id}/{i}", model_note=note))
        writer.write_all(sampled)
    failures = [s for s in sampled if not s.success]
    with RecordWriter(run / "records" / "repaired.jsonl") as writer:
        for j, failed in enumerate(failures):
            reflection = f"The layout lacks one box; {XSS} add it." if j == 0 else "One object is missing a box; add the missing box."
            repaired.append(_play(train, failed.task_id, good=j % 4 != 3, key=f"repaired/{failed.key}", origin="repaired",
                                  parent=failed.key, reflection=reflection))
        writer.write_all(repaired)
    test = make_env(ENV_ID, split="test", num_prompts=5)
    wins = {"base": 1, "selftrain": 2, "rerest": 4, "dpo": 3}
    variants = ["base", "selftrain", "rerest"] + (["dpo"] if complete else [])
    for variant in variants:
        with RecordWriter(run / "records" / f"eval-{variant}.jsonl") as writer:
            writer.write_all(_play(test, task_id, good=n < wins[variant], key=f"sampled/{task_id}/0")
                             for n, task_id in enumerate(test.unwrapped.task_ids))
    template = template_for(ENV_ID)
    trajectories = sampled + repaired
    write_jsonl(run / "data" / "agent_dm.jsonl", agent_sft(sampled, template))
    write_jsonl(run / "data" / "agent_dmdr.jsonl", agent_sft(trajectories, template))
    write_jsonl(run / "data" / "reflector.jsonl", reflector_sft(trajectories, template))
    write_jsonl(run / "data" / "dpo.jsonl", dpo_pairs(trajectories, template))
    (run / "adapters" / "agent-rerest").mkdir(parents=True)
    names = ["sample", "reflect", "build_data", "train_reflector", "train_agent_selftrain", "train_agent_rerest", "train_agent_dpo",
             "eval_base", "eval_selftrain", "eval_rerest"] + (["eval_dpo"] if complete else [])
    stages = {name: {"status": "done", "started": f"2026-01-01T00:{i:02d}:00", "finished": f"2026-01-01T00:{i:02d}:30",
                     "seconds": 30.0 + 7 * i} for i, name in enumerate(names)}
    (run / "stages.json").write_text(json.dumps(stages))
    verified = sum(r.success for r in repaired)
    metrics = [{"name": "sample/success_rate", "value": sum(s.success for s in sampled) / len(sampled), "round": 1, "stage": "sample"},
               {"name": "reflect/verified_repairs", "value": verified, "round": 1, "stage": "reflect"},
               {"name": "reflect/repair_rate", "value": verified / len(failures), "round": 1, "stage": "reflect"},
               {"name": "data/dm_size", "value": 3, "round": 1, "stage": "build_data"},
               {"name": "data/dr_size", "value": verified, "round": 1, "stage": "build_data"}]
    for scale, stage in ((2.0, "train_agent_selftrain"), (2.4, "train_agent_rerest")):
        metrics += [{"name": "train/loss", "value": scale / (s + 1), "step": s, "round": 1, "stage": stage} for s in range(5)]
    for variant in variants:
        metrics.append({"name": "eval/success_rate", "value": wins[variant] / 5, "variant": variant, "round": 1, "stage": f"eval_{variant}"})
    with (run / "metrics.jsonl").open("w") as f:
        f.writelines(json.dumps(m) + "\n" for m in metrics)
    return {"sampled": sampled, "repaired": repaired, "verified": verified, "failures": len(failures)}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.srcs: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.scripts += tag == "script"
        if "src" in attrs:
            self.srcs.append(attrs["src"])
        if "href" in attrs:
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    page.close()
    return text, page


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "layout-cpu-seed0"
    facts = build_run_dir(run)
    return run, facts


def test_report_is_self_contained_with_inline_images(run_dir):
    run, _ = run_dir
    path = write_report(run)
    assert path == run / "report.html"
    text, page = _parse(path)
    assert page.scripts == 0
    assert page.srcs and all(s.startswith("data:image/png;base64,") for s in page.srcs)
    for src in page.srcs:
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(link.startswith("#") for link in page.links)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text


def test_report_shows_the_numbers_of_the_run(run_dir):
    run, facts = run_dir
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    # evaluation: 1/5, 2/5, 4/5 on the test split; DPO not evaluated
    assert "20.0% (1/5)" in body and "40.0% (2/5)" in body and "80.0% (4/5)" in body
    # rounds: sample success and verified repairs / failures
    n_sampled, n_success = len(facts["sampled"]), sum(s.success for s in facts["sampled"])
    assert f"{n_success / n_sampled:.1%} ({n_success}/{n_sampled})" in body
    assert f"{facts['verified'] / facts['failures']:.1%} ({facts['verified']}/{facts['failures']})" in body
    # data sizes from the real exports
    run_data = load_run(run)
    assert run_data.data_sizes["agent_dm"] == n_success
    assert run_data.data_sizes["agent_dmdr"] == n_success + facts["verified"]
    assert f"|D_R| (verified repairs) {facts['verified']}" in body
    # stage timings, the config, the metric definitions, the per-skill and per-check tables
    assert "train_reflector" in body and "51.0" in body  # seconds of the 4th stage
    assert "gemma-3-270m" in body and "k: 2" in body
    assert "Logged metrics" in body
    for name, definition in METRIC_DEFINITIONS.items():
        assert name in body and definition in body
    assert "gen-count" in body and "gen-spatial" in body  # task groups of the generated prompt set
    assert "count_matches" in body and "relation_holds" in body  # check names of feedback.details
    # examples: a failed layout, its reflection and a repaired one, with the layout drawings
    assert "Failed → reflection → repaired" in body
    assert "One object is missing a box; add the missing box." in body
    assert len(page.srcs) >= 4 + 2 * 2  # charts + at least two (failed, repaired) layout pairs
    assert page.tags.count("details") >= 4


def test_report_shows_intervals_and_paired_differences(run_dir):
    from rerest_agents.stats import wilson

    run, _ = run_dir
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    for wins in (1, 2, 4):  # Wilson intervals of 1/5, 2/5, 4/5
        interval = wilson(wins, 5)
        assert f"[{interval.low:.1%}, {interval.high:.1%}]" in body
    assert "mean score [95% CI]" in body and "Paired differences of success on the same test tasks" in body
    rows = {cells[0]: cells for cells in (row.split(" | ") for row in _table_rows(text, "95% CI (paired bootstrap)"))}
    assert list(rows) == ["self-training − base", "Re-ReST − self-training", "Re-ReST − base"]  # no DPO evaluated
    # the first N test tasks are solved: base 1, self-training 2, Re-ReST 4 of 5
    assert rows["Re-ReST − base"][2:4] == ["5", "+60.0 pts"] and rows["Re-ReST − base"][-1] == "above 0"
    assert rows["self-training − base"][3] == "+20.0 pts" and rows["self-training − base"][-1] == "noise"
    assert "bootstrap" in body and "<i>noise</i>" in text


def _table_rows(html: str, header: str) -> list[str]:
    """The rows of the table whose header has `header`, as 'cell | cell' text."""
    start = html.index(header)
    tbody = html[html.index("<tbody>", start) + 7: html.index("</tbody>", start)]
    return [" | ".join(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row))
            for row in re.findall(r"<tr>(.*?)</tr>", tbody)]


def test_logged_intervals_stand_in_for_missing_eval_records(tmp_path):
    run = tmp_path / "logged"
    build_run_dir(run)
    (run / "records" / "eval-rerest.jsonl").unlink()
    with (run / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"name": "eval/success_rate", "value": 0.8, "ci_low": 0.376, "ci_high": 0.964, "n": 5, "variant": "rerest",
                            "round": 1, "stage": "eval_rerest"}) + "\n")
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    assert "[37.6%, 96.4%]" in body
    rows = [r.split(" | ")[0] for r in _table_rows(text, "95% CI (paired bootstrap)")]
    assert rows == ["self-training − base"]  # a difference needs both variants' per-task records


def test_missing_stages_say_not_run_yet(run_dir):
    run, _ = run_dir
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    assert "eval_dpo not run yet (optional)" in body
    assert "DPO 1 not run yet" in body  # the evaluation table row of DPO
    assert "reflect_trained not run yet (optional)" in body


def test_run_text_is_escaped(run_dir):
    run, _ = run_dir
    text, page = _parse(write_report(run))
    assert "<script" not in text
    assert page.scripts == 0
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert XSS in " ".join(page.text)  # shown as text: in the config, the transcript and a reflection


def test_a_run_killed_after_sampling(tmp_path):
    run = tmp_path / "killed"
    (run / "records").mkdir(parents=True)
    env = make_env(ENV_ID, split="train", num_prompts=2)
    with RecordWriter(run / "records" / "sampled.jsonl") as writer:
        writer.write(_play(env, env.unwrapped.task_ids[0], good=False, key="sampled/a/0"))
    with (run / "records" / "sampled.jsonl").open("a") as f:
        f.write('{"key": "sampled/a/1", "env_')  # torn line of the kill
    (run / "stages.json").write_text(json.dumps({"sample": {"status": "running", "started": "2026-01-01T00:00:00", "seconds": 12.5}}))
    (run / "metrics.jsonl").write_text('{"name": "sample/success_rate", "value": 0.0}\n{"name": "sample/succ')
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    assert "sample running" in body
    assert "reflect not run yet" in body and "eval_rerest not run yet" in body
    assert body.count("not run yet") >= 10
    assert "0.0% (0/1)" in body  # the one complete sampled record


def test_an_empty_run_dir(tmp_path):
    text, page = _parse(write_report(tmp_path))
    body = " ".join(page.text)
    assert "not run yet" in body and page.srcs == []


def test_cli_report(run_dir, tmp_path):
    run, _ = run_dir
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(run / "report.html")
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_rounds_after_the_first(tmp_path):
    run = tmp_path / "two-rounds"
    build_run_dir(run, complete=True)
    env = make_env(ENV_ID, split="train", num_prompts=2)
    with RecordWriter(run / "records" / "sampled-r2.jsonl") as writer:
        writer.write_all(_play(env, task_id, good=True, key=f"sampled/{task_id}/0") for task_id in env.unwrapped.task_ids)
    stages = json.loads((run / "stages.json").read_text())
    stages["sample-r2"] = {"status": "done", "seconds": 3.0}
    stages["reflect-r2"] = {"status": "running", "seconds": 1.0}
    (run / "stages.json").write_text(json.dumps(stages))
    assert load_run(run).rounds == [1, 2]
    text, page = _parse(write_report(run))
    body = " ".join(" ".join(page.text).split())
    assert "100.0% (2/2)" in body  # round-2 sample success
    assert "sample-r2 done" in body and "reflect-r2 running" in body and "eval_rerest-r2 not run yet" in body
    assert "60.0% (3/5)" in body  # DPO evaluated in this run
    assert "complete" not in body.split("report written")[0]


def test_groups_and_checks_of_other_envs():
    from rerest_agents.report.load import check_scores, task_group

    hotpot = Trajectory(key="k", env_id="rerest/HotpotQA-v0", task_id="5a8b57f25542995d1e6f1371", observation="Question: ?",
                        feedback={"details": {"type": "bridge", "answer": "x", "exact_match": {"score": 0.0, "weight": 1.0, "explanation": "no"},
                                              "f1": {"score": 0.5, "weight": 0.0, "explanation": "half"}}})
    assert task_group(hotpot) == "bridge"
    assert check_scores(hotpot) == {"exact_match": (0.0, 1), "f1": (0.5, 1)}
    code = Trajectory(key="k", env_id="rerest/HumanEval-v0", task_id="HumanEval/12", observation="def f():")
    assert task_group(code) == "HumanEval"
    assert task_group(Trajectory(key="k", env_id=ENV_ID, task_id="count_val_000001", observation="")) == "count"
