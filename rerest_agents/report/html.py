"""`write_report(run_dir)`: one self-contained HTML page about a Re-ReST run (`RUN_DIR/report.html`).

The page has no external resource: charts and layout drawings are inline PNG data URIs, the style
is inline CSS, and there is no script. Every text that comes from the run (config, records, model
output) is escaped. Parts a run has not reached yet (a run killed midway) say "not run yet".
"""

from __future__ import annotations

import datetime as _dt
import os
from collections import defaultdict
from pathlib import Path

from rerest_agents.report import plots
from rerest_agents.report.examples import examples_section
from rerest_agents.report.load import (COMPARISONS, METRIC_DEFINITIONS, VARIANT_LABELS, VARIANT_NAMES, VARIANTS, Rate, RunData,
                                       check_rates, error_counts, find_key, group_rates, load_run, repair_stats, success, task_group)
from rerest_agents.report.markup import CSS, NOT_RUN, ci, esc, img, missing, pct, rate, section, table
from rerest_agents.rollout.records import Trajectory
from rerest_agents.stats import Interval, bootstrap_mean, paired_difference, per_task, wilson

#: What each training-set file holds (data/<name>.jsonl).
DATA_DESCRIPTIONS = {
    "agent_dm": "agent SFT on D_M (self-training baseline): the agent's successful samples",
    "agent_dmdr": "agent SFT on D_M + D_R (Re-ReST): successful samples and verified repairs",
    "reflector": "reflector SFT: reflections and repairs of verified repairs, failed -> successful sample pairs",
    "dpo": "DPO pairs (prompt, chosen = a success, rejected = a failure of the same task)",
}


def _header(run: RunData) -> str:
    finished = ("done", "skipped")
    required = [s for s in run.stages if not s.optional or s.status != "missing"]
    done = sum(s.status in finished for s in required)
    skipped = sum(s.status == "skipped" for s in required)
    model = next((t.model for t in run.all_records if t.model), None)
    if model is None and run.config:
        found = find_key(run.config, "model")
        model = str(found) if isinstance(found, (str, int, float)) else None
    if required and done == len(required):
        status = "complete" + (f" ({skipped} skipped)" if skipped else "")
    else:
        status = f"{done} of {len(required)} stages done" + (f" ({skipped} skipped)" if skipped else "")
    facts = [("env", run.env_id or "—"), ("model", model or "—"), ("rounds", str(len(run.rounds))), ("status", status),
             ("report written", _dt.datetime.now().isoformat(timespec="seconds"))]
    cards = "".join(f'<div class="card"><span>{esc(k)}</span><b style="font-size:14px">{esc(v)}</b></div>' for k, v in facts)
    problems = "".join(f"<li>{esc(p)}</li>" for p in run.problems)
    return (f"<h1>Re-ReST run <code>{esc(run.run_dir.name)}</code></h1><p class=\"sub\">{esc(run.run_dir.resolve())}</p>"
            f'<div class="cards">{cards}</div>' + (f"<p>Could not read everything:</p><ul>{problems}</ul>" if problems else ""))


def _eval_rates(run: RunData) -> dict[tuple[str, int], float]:
    rates: dict[tuple[str, int], float] = {}
    for rnd in run.rounds:
        for variant in _variants(run):
            records = run.evals.get((variant, rnd))
            if records:
                rates[(variant, rnd)] = success(records).value or 0.0
            else:
                logged = run.metric("eval/success_rate", variant=variant, round=rnd)
                if logged is not None:
                    rates[(variant, rnd)] = logged
    return rates


def _variants(run: RunData) -> list[str]:
    extra = sorted({v for v, _ in run.evals} - set(VARIANTS))
    return [*VARIANTS, *extra]


def _success_interval(run: RunData, variant: str, rnd: int) -> Interval | None:
    """Wilson interval of a variant's test success: from its records, else from the logged metric's ci fields."""
    records = run.evals.get((variant, rnd))
    if records:
        found = success(records)
        return wilson(found.k, found.n)
    entry = run.metric_entry("eval/success_rate", variant=variant, round=rnd)
    if entry and all(isinstance(entry.get(k), (int, float)) for k in ("ci_low", "ci_high", "n")):
        return Interval(float(entry["value"]), float(entry["ci_low"]), float(entry["ci_high"]), int(entry["n"]))
    return None


def _evaluation(run: RunData) -> str:
    rows = []
    for rnd in run.rounds:
        for variant in _variants(run):
            records = run.evals.get((variant, rnd), [])
            logged = run.metric("eval/success_rate", variant=variant, round=rnd)
            score = run.metric("eval/score", variant=variant, round=rnd)
            if not records and logged is None and variant not in VARIANTS:
                continue
            errors = error_counts(records)
            label = esc(VARIANT_LABELS.get(variant, variant)) + _untrained(run, variant, rnd)
            if not records and logged is None:
                rows.append([label, str(rnd), missing(), missing(), missing(), missing(), missing(), ""])
                continue
            score_cell = pct(score)
            if records:
                scores = bootstrap_mean([t.score for t in records])
                score_cell = f"{pct(scores.estimate)} <small>{ci(scores.low, scores.high)}</small>"
            found = _success_interval(run, variant, rnd)
            rows.append([label, str(rnd), str(len(records)) if records else missing("no records"),
                         rate(success(records)) if records else missing("—"), ci(found.low, found.high) if found else missing("—"),
                         score_cell, pct(logged), esc(", ".join(f"{k}: {v}" for k, v in errors.items())) or "0"])
    intervals = {key: (iv.low, iv.high) for key in _eval_rates(run) if (iv := _success_interval(run, *key)) is not None}
    chart = plots.eval_chart(_eval_rates(run), _variants(run), VARIANT_LABELS, intervals)
    tbl = table(["variant", "round", "test episodes", "success", "95% CI (Wilson)", "mean score [95% CI]", "logged eval/success_rate",
                 "broken episodes"], rows, numeric_from=1)
    skipped = [s for s in run.stages if s.base.startswith("train_agent_") and s.status == "skipped"]
    if skipped:
        tbl += "".join(f'<p class="note">* <code>{esc(s.name)}</code> was skipped, so this variant is the untrained model: '
                       f'{esc(s.note or "no reason given")}</p>' for s in skipped)
    body = (f'<div class="charts"><div>{tbl}</div><div>{img(chart, "test success per variant") or missing()}</div></div>'
            f"<h3>Paired differences of success on the same test tasks</h3>{_differences(run)}")
    return section("evaluation", "Evaluation on the test split", body,
                   "The agent alone, greedy, on held-out tasks: base model, self-training on D_M, Re-ReST on D_M + D_R, and DPO. "
                   "Intervals are 95%: Wilson for a success rate, a bootstrap over tasks for a mean score and, paired by task id, "
                   "for a difference; a difference whose interval contains 0 is <i>noise</i>.")


def _untrained(run: RunData, variant: str, rnd: int) -> str:
    """A warning for a variant whose training stage was skipped (it then evaluates the untrained model)."""
    name = f"train_agent_{variant}" + (f"-r{rnd}" if rnd > 1 else "")
    stage = next((s for s in run.stages if s.name == name), None)
    if stage is None or stage.status != "skipped":
        return ""
    return f' <small class="run" title="{esc(stage.note or "")}">untrained*</small>'


def _differences(run: RunData) -> str:
    """Table of the paired bootstrap intervals of success(treatment) - success(control), per round."""
    rows = []
    for rnd in run.rounds:
        for treatment, control in COMPARISONS:
            a, b = run.evals.get((treatment, rnd)), run.evals.get((control, rnd))
            if not a or not b:
                continue
            label = esc(f"{VARIANT_NAMES[treatment]} − {VARIANT_NAMES[control]}")
            try:
                d = paired_difference(per_task(a), per_task(b))
            except ValueError:  # no task in common
                rows.append([label, str(rnd), "0", missing("no common task"), "", ""])
                continue
            unmatched = sum(d.dropped)
            verdict = {"above 0": "ok", "below 0": "bad"}.get(d.verdict, "missing")
            rows.append([label, str(rnd),
                         str(d.n) + (f" <small>({unmatched} unmatched dropped)</small>" if unmatched else ""),
                         f"{100 * d.estimate:+.1f} pts", f"[{100 * d.low:+.1f}, {100 * d.high:+.1f}]",
                         f'<span class="{verdict}">{esc(d.verdict)}</span>'])
    if not rows:
        return f"<p>{missing('needs two variants evaluated on the test split')}</p>"
    return table(["comparison", "round", "tasks compared", "difference", "95% CI (paired bootstrap)", "verdict"], rows)


def _rounds(run: RunData) -> str:
    rows, chart_rows = [], []
    for rnd in run.rounds:
        sampled = run.sampled.get(rnd)
        repaired = run.repaired.get(rnd)
        if sampled is None and repaired is None:
            rows.append([str(rnd), *[missing()] * 7])
            chart_rows.append((rnd, None, None, None))
            continue
        sampled = sampled or []
        stats = repair_stats(sampled, repaired or [])
        sample_rate = success(sampled) if sampled else None
        repair_rate = Rate(stats["verified"], stats["failures"]) if repaired is not None else None
        repaired_success = success(repaired) if repaired else None
        logged = run.metric("reflect/repair_rate", round=rnd)
        rows.append([str(rnd), str(len(sampled)) if sampled else missing(), rate(sample_rate), str(stats["failures"]) if sampled else missing(),
                     str(stats["attempted"]) if repaired is not None else missing(), str(stats["verified"]) if repaired is not None else missing(),
                     rate(repair_rate) if repaired is not None else missing(), pct(logged)])
        chart_rows.append((rnd, sample_rate.value if sample_rate else None, repair_rate.value if repair_rate else None,
                           repaired_success.value if repaired_success else None))
    tbl = table(["round", "sampled episodes", "sample success", "failures", "repairs played", "verified repairs",
                    "repair rate", "logged reflect/repair_rate"], rows)
    chart = plots.rounds_chart(chart_rows)
    body = f'<div class="charts"><div>{tbl}</div><div>{img(chart, "sample vs repair success per round") or ""}</div></div>'
    return section("rounds", "Sampling and reflection per round", body,
                    "Successful samples go to D_M; each failure is reflected on, re-played, and kept in D_R only when the env verifies it.")


def _datasets(run: RunData) -> str:
    rows = []
    for name, description in DATA_DESCRIPTIONS.items():
        size = run.data_sizes.get(name)
        rows.append([f"<code>data/{esc(name)}.jsonl</code>", esc(description), str(size) if size is not None else missing()])
    for name, size in run.data_sizes.items():
        if name not in DATA_DESCRIPTIONS:
            rows.append([f"<code>data/{esc(name)}.jsonl</code>", "", str(size)])
    dm, dmdr = run.data_sizes.get("agent_dm"), run.data_sizes.get("agent_dmdr")
    dm = dm if dm is not None else _int(run.metric("data/dm_size"))
    dr = dmdr - dm if dmdr is not None and dm is not None else _int(run.metric("data/dr_size"))
    cards = "".join(f'<div class="card"><span>{esc(label)}</span><b>{esc(value) if value is not None else missing()}</b></div>'
                    for label, value in (("|D_M| (successful samples)", dm), ("|D_R| (verified repairs)", dr),
                                         ("reflector records", run.data_sizes.get("reflector")), ("DPO pairs", run.data_sizes.get("dpo"))))
    adapters = ", ".join(f"<code>{esc(a)}</code>" for a in run.adapters) or missing("none yet")
    body = f'<div class="cards">{cards}</div>{table(["file", "contents", "records"], rows, numeric_from=2)}<p>LoRA adapters: {adapters}</p>'
    return section("data", "Training sets", body, "What the training stages read (<code>data/*.jsonl</code>); |D_R| = |D_M + D_R| - |D_M|.")


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _breakdowns(run: RunData) -> str:
    columns: list[tuple[str, list[Trajectory]]] = []
    for rnd in run.rounds:
        suffix = f" r{rnd}" if len(run.rounds) > 1 else ""
        if run.sampled.get(rnd):
            columns.append((f"sampled{suffix}", run.sampled[rnd]))
        if run.repaired.get(rnd):
            columns.append((f"repaired{suffix}", run.repaired[rnd]))
    for (variant, rnd), records in sorted(run.evals.items(), key=lambda kv: (kv[0][1], _variants(run).index(kv[0][0]))):
        if records:
            columns.append((f"eval {variant}" + (f" r{rnd}" if len(run.rounds) > 1 else ""), records))
    if not columns:
        return section("breakdown", "Breakdown by skill and check", f"<p>{missing()}</p>")
    per_group = [group_rates(records, task_group) for _, records in columns]
    groups = sorted(set().union(*per_group))
    rows = [[esc(g), *[rate(rates.get(g)) for rates in per_group]] for g in groups]
    body = "<h3>Success by task group</h3>" + table(["skill / type", *[c[0] for c in columns]], rows)
    per_check = [check_rates(records) for _, records in columns]
    checks = sorted(set().union(*per_check))
    if checks:
        rows = []
        for check in checks:
            cells = []
            for rates in per_check:
                s, n = rates.get(check, (0.0, 0))
                cells.append(f"{s / n:.1%} <small>({s:g}/{n})</small>" if n else missing("—"))
            rows.append([f"<code>{esc(check)}</code>", *cells])
        body += ("<h3>Checks passed (share of requirements, from <code>feedback.details</code>)</h3>"
                 + table(["check", *[c[0] for c in columns]], rows))
    return section("breakdown", "Breakdown by skill and check", body,
                    "Groups come from <code>skill</code>/<code>type</code>/<code>task_type</code>/<code>level</code> in the feedback details, else from the "
                   "task-id prefix; ids that are numbers or hashes make one group, <i>all tasks</i>.")


def _stages(run: RunData) -> str:
    rows, bars = [], []
    for s in run.stages:
        if s.status == "missing":
            status = missing(NOT_RUN + (" (optional)" if s.optional else ""))
        else:
            cls = {"done": "ok", "running": "run"}.get(s.status, "missing")
            status = f'<span class="{cls}">{esc(s.status)}</span>'
            if s.note:
                status += f"<br><small>{esc(s.note)}</small>"
        seconds = f"{s.seconds:.1f}" if s.seconds is not None else ""
        rows.append([f"<code>{esc(s.name)}</code>", status, esc(s.started or ""), esc(s.finished or ""), seconds])
        if s.seconds is not None and s.status in ("done", "running"):
            bars.append((s.name, s.seconds, s.status))
    total = sum(b[1] for b in bars)
    tbl = table(["stage", "status", "started", "finished", "seconds"], rows, numeric_from=4)
    chart = plots.stages_chart(bars)
    body = f'<div class="charts"><div>{tbl}<p>Total: {total:.1f} s</p></div><div>{img(chart, "stage wall time")}</div></div>'
    return section("stages", "Stages and timings", body, "From <code>stages.json</code>; a re-run skips stages that are done. "
                   "A skipped stage had nothing to do (its note says why) and counts as finished.")


def _config(run: RunData) -> str:
    body = f"<pre>{esc(run.config_text)}</pre>" if run.config_text is not None else f"<p>{missing()}</p>"
    return section("config", "Resolved config", body, "<code>config.yaml</code> as the run resolved it.")


def _metrics(run: RunData) -> str:
    names = [*METRIC_DEFINITIONS, *sorted({m["name"] for m in run.metrics} - set(METRIC_DEFINITIONS))]
    defs = "".join(f"<li><code>{esc(n)}</code>: {esc(METRIC_DEFINITIONS.get(n, 'not defined by this report version (logged by the run).'))}</li>"
                   for n in names)
    last: dict[tuple, dict] = {}
    counts: dict[tuple, int] = defaultdict(int)
    curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for m in run.metrics:
        key = (m["name"], str(m.get("stage", "")), str(m.get("variant", "")), str(m.get("round", "")))
        last[key] = m
        counts[key] += 1
        if m["name"] == "train/loss" and isinstance(m.get("value"), (int, float)):
            stage = str(m.get("stage") or m.get("variant") or "train")
            curves[stage].append((float(m.get("step", counts[key])), float(m["value"])))
    rows = [[f"<code>{esc(k[0])}</code>", esc(k[1]), esc(k[2]), esc(k[3]), esc(_fmt(m.get("value"))), str(counts[k])]
            for k, m in last.items()]
    chart = plots.loss_chart(curves)
    body = (f"<ul>{defs}</ul><h3>Values (last logged per name, stage, variant and round)</h3>"
            + (table(["name", "stage", "variant", "round", "value", "entries"], rows, numeric_from=4) if rows else f"<p>{missing()}</p>")
            + img(chart, "training loss"))
    return section("metrics", "Logged metrics", body, "Every number in <code>metrics.jsonl</code> and what it means.")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _errors(run: RunData) -> str:
    files = [(f"sampled r{r}", v) for r, v in sorted(run.sampled.items())] + [(f"repaired r{r}", v) for r, v in sorted(run.repaired.items())]
    files += [(f"eval {k[0]} r{k[1]}", v) for k, v in sorted(run.evals.items())] + list(run.other_records.items())
    rows = []
    for name, records in files:
        errors = error_counts(records)
        truncated = sum(t.truncated for t in records)
        rows.append([esc(name), str(len(records)), str(sum(t.success for t in records)), str(truncated),
                     esc(", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "0")])
    return section("records", "Record files", table(["records", "episodes", "successes", "truncated", "broken (where)"], rows),
                    "Broken episodes are data (STYLE habit 15): counted here by where they broke.")


def render_report(run: RunData, *, replay: bool = True) -> str:
    """The report page as an HTML string; `replay=False`: no example episode is re-played for its picture."""
    sections = [_evaluation(run), _rounds(run), _datasets(run), _breakdowns(run), examples_section(run, replay=replay), _stages(run), _config(run),
                _metrics(run), _errors(run)]
    nav = " · ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in (("evaluation", "evaluation"), ("rounds", "rounds"), ("data", "data"),
                                                                    ("breakdown", "breakdown"), ("examples", "examples"), ("stages", "stages"),
                                                                    ("config", "config"), ("metrics", "metrics"), ("records", "records")))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Re-ReST report: {esc(run.run_dir.name)}</title><style>{CSS}</style></head>"
            f"<body><main>{_header(run)}<p>{nav}</p>{''.join(sections)}</main></body></html>\n")


def write_report(run_dir: str | os.PathLike[str], *, replay: bool = True) -> Path:
    """Write `RUN_DIR/report.html` (atomically) and return its path.

    With `replay` (the default), example episodes of envs that render pictures (GQA) are re-played
    through a rebuilt env for `render()` (`pictures.Pictures`: a few episodes, a minute at most).

    Raises:
        FileNotFoundError: `run_dir` is not a folder.
    """
    run = load_run(run_dir)
    path = run.run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(run, replay=replay), encoding="utf-8")
    tmp.replace(path)
    return path
