"""`write_report(run_dir)`: one self-contained HTML page about a Re-ReST run (`RUN_DIR/report.html`).

The page has no external resource: charts and layout drawings are inline PNG data URIs, the style
is inline CSS, and there is no script. Every text that comes from the run (config, records, model
output) is escaped. Parts a run has not reached yet (a run killed midway) say "not run yet".
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from rerest_agents.report import plots
from rerest_agents.report.load import (METRIC_DEFINITIONS, VARIANT_LABELS, VARIANTS, Rate, RunData, check_rates, error_counts, find_key,
                                       group_rates,
                                       load_run, mean_score, repair_stats, success, task_group)
from rerest_agents.rollout.records import Trajectory

NOT_RUN = "not run yet"
LAYOUT_ENV_PREFIX = "rerest/Layout"
#: What each training-set file holds (data/<name>.jsonl).
DATA_DESCRIPTIONS = {
    "agent_dm": "agent SFT on D_M (self-training baseline): the agent's successful samples",
    "agent_dmdr": "agent SFT on D_M + D_R (Re-ReST): successful samples and verified repairs",
    "reflector": "reflector SFT: reflections and repairs of verified repairs, failed -> successful sample pairs",
    "dpo": "DPO pairs (prompt, chosen = a success, rejected = a failure of the same task)",
}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:18px 28px 60px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:30px 0 8px;padding-bottom:4px;border-bottom:2px solid #dde1e6}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:#5b6570;margin:0 0 10px}
section{background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:4px 18px 14px;margin:14px 0}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #e1e4e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.missing{color:#9aa3ad;font-style:italic}
.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}.run{color:#b26a00;font-weight:600}
pre{background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:6px 8px;white-space:pre-wrap;word-break:break-word;
    font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;margin:4px 0;max-height:420px;overflow:auto}
details>summary{cursor:pointer;color:#0b5cad;font-size:12px}
img{max-width:100%;display:block}
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid #e1e4e8;border-radius:6px;padding:6px 12px;background:#fafbfc;min-width:120px}
.card b{display:block;font-size:20px}.card span{color:#5b6570;font-size:12px}
table.examples td{max-width:260px}
table.examples img{width:200px;border:1px solid #ccd;margin-top:4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f5;padding:0 3px;border-radius:3px}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _missing(text: str = NOT_RUN) -> str:
    return f'<span class="missing">{esc(text)}</span>'


def _pct(value: float | None) -> str:
    return _missing("—") if value is None else f"{value:.1%}"


def _rate(rate: Rate | None) -> str:
    if rate is None or rate.n == 0:
        return _missing("—")
    return f"{rate.value:.1%} <small>({rate.k}/{rate.n})</small>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int = 1, cls: str = "") -> str:
    """A table; cells are already HTML (callers escape); columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">{_missing()}</td></tr>')
    class_attr = f' class="{cls}"' if cls else ""
    return f"<table{class_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">' if uri else ""


def _fold(summary: str, body: str) -> str:
    return f"<details><summary>{esc(summary)}</summary><pre>{esc(body)}</pre></details>"


# -- sections -----------------------------------------------------------------------------------------
def _header(run: RunData) -> str:
    done = sum(s.status == "done" for s in run.stages)
    required = [s for s in run.stages if not s.optional or s.status != "missing"]
    model = next((t.model for t in run.all_records if t.model), None)
    if model is None and run.config:
        found = find_key(run.config, "model")
        model = str(found) if isinstance(found, (str, int, float)) else None
    status = "complete" if required and all(s.status == "done" for s in required) else f"{done} of {len(required)} stages done"
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
            label = VARIANT_LABELS.get(variant, variant)
            if not records and logged is None:
                rows.append([esc(label), str(rnd), _missing(), _missing(), _missing(), _missing(), ""])
                continue
            rows.append([esc(label), str(rnd), str(len(records)) if records else _missing("no records"),
                         _rate(success(records)) if records else _missing("—"),
                         _pct(mean_score(records) if records else score), _pct(logged),
                         esc(", ".join(f"{k}: {v}" for k, v in errors.items())) or "0"])
    chart = plots.eval_chart(_eval_rates(run), _variants(run), VARIANT_LABELS)
    table = _table(["variant", "round", "test episodes", "success", "mean score", "logged eval/success_rate", "broken episodes"], rows,
                   numeric_from=1)
    body = f'<div class="charts"><div>{table}</div><div>{_img(chart, "test success per variant") or _missing()}</div></div>'
    return _section("evaluation", "Evaluation on the test split", body,
                    "The agent alone, greedy, on held-out tasks: base model, self-training on D_M, Re-ReST on D_M + D_R, and DPO.")


def _rounds(run: RunData) -> str:
    rows, chart_rows = [], []
    for rnd in run.rounds:
        sampled = run.sampled.get(rnd)
        repaired = run.repaired.get(rnd)
        if sampled is None and repaired is None:
            rows.append([str(rnd), *[_missing()] * 7])
            chart_rows.append((rnd, None, None, None))
            continue
        sampled = sampled or []
        stats = repair_stats(sampled, repaired or [])
        sample_rate = success(sampled) if sampled else None
        repair_rate = Rate(stats["verified"], stats["failures"]) if repaired is not None else None
        repaired_success = success(repaired) if repaired else None
        logged = run.metric("reflect/repair_rate", round=rnd)
        rows.append([str(rnd), str(len(sampled)) if sampled else _missing(), _rate(sample_rate), str(stats["failures"]) if sampled else _missing(),
                     str(stats["attempted"]) if repaired is not None else _missing(), str(stats["verified"]) if repaired is not None else _missing(),
                     _rate(repair_rate) if repaired is not None else _missing(), _pct(logged)])
        chart_rows.append((rnd, sample_rate.value if sample_rate else None, repair_rate.value if repair_rate else None,
                           repaired_success.value if repaired_success else None))
    table = _table(["round", "sampled episodes", "sample success", "failures", "repairs played", "verified repairs",
                    "repair rate", "logged reflect/repair_rate"], rows)
    chart = plots.rounds_chart(chart_rows)
    body = f'<div class="charts"><div>{table}</div><div>{_img(chart, "sample vs repair success per round") or ""}</div></div>'
    return _section("rounds", "Sampling and reflection per round", body,
                    "Successful samples go to D_M; each failure is reflected on, re-played, and kept in D_R only when the env verifies it.")


def _datasets(run: RunData) -> str:
    rows = []
    for name, description in DATA_DESCRIPTIONS.items():
        size = run.data_sizes.get(name)
        rows.append([f"<code>data/{esc(name)}.jsonl</code>", esc(description), str(size) if size is not None else _missing()])
    for name, size in run.data_sizes.items():
        if name not in DATA_DESCRIPTIONS:
            rows.append([f"<code>data/{esc(name)}.jsonl</code>", "", str(size)])
    dm, dmdr = run.data_sizes.get("agent_dm"), run.data_sizes.get("agent_dmdr")
    dm = dm if dm is not None else _int(run.metric("data/dm_size"))
    dr = dmdr - dm if dmdr is not None and dm is not None else _int(run.metric("data/dr_size"))
    cards = "".join(f'<div class="card"><span>{esc(label)}</span><b>{esc(value) if value is not None else _missing()}</b></div>'
                    for label, value in (("|D_M| (successful samples)", dm), ("|D_R| (verified repairs)", dr),
                                         ("reflector records", run.data_sizes.get("reflector")), ("DPO pairs", run.data_sizes.get("dpo"))))
    adapters = ", ".join(f"<code>{esc(a)}</code>" for a in run.adapters) or _missing("none yet")
    body = f'<div class="cards">{cards}</div>{_table(["file", "contents", "records"], rows, numeric_from=2)}<p>LoRA adapters: {adapters}</p>'
    return _section("data", "Training sets", body, "Sizes of D_M and D_R as exported for training (summed over rounds in the round-1 files).")


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
        return _section("breakdown", "Breakdown by skill and check", f"<p>{_missing()}</p>")
    per_group = [group_rates(records, task_group) for _, records in columns]
    groups = sorted(set().union(*per_group))
    rows = [[esc(g), *[_rate(rates.get(g)) for rates in per_group]] for g in groups]
    body = "<h3>Success by task group</h3>" + _table(["skill / type", *[c[0] for c in columns]], rows)
    per_check = [check_rates(records) for _, records in columns]
    checks = sorted(set().union(*per_check))
    if checks:
        rows = []
        for check in checks:
            cells = []
            for rates in per_check:
                s, n = rates.get(check, (0.0, 0))
                cells.append(f"{s / n:.1%} <small>({s:g}/{n})</small>" if n else _missing("—"))
            rows.append([f"<code>{esc(check)}</code>", *cells])
        body += ("<h3>Checks passed (share of requirements, from <code>feedback.details</code>)</h3>"
                 + _table(["check", *[c[0] for c in columns]], rows))
    return _section("breakdown", "Breakdown by skill and check", body,
                    "Groups come from <code>skill</code>/<code>type</code>/<code>level</code> in the feedback details, else from the task-id prefix.")


def _caption(observation: str) -> str | None:
    for line in observation.splitlines():
        if line.startswith("Caption:"):
            return line[len("Caption:"):].strip()
    return None


def _transcript(t: Trajectory) -> str:
    lines = [f"Task:\n{t.observation}"]
    for i, step in enumerate(t.steps, start=1):
        lines.append(f"--- turn {i}\nModel: {step.model_text}\nAction: {step.action}\nObservation: {step.observation}")
    if t.error:
        lines.append(f"Error ({t.error.get('where')}): {t.error.get('type')}: {t.error.get('message')}")
    return "\n".join(lines)


def _short(text: str, limit: int = 280) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attempt_cell(t: Trajectory, layout: bool) -> str:
    final = t.steps[-1].action if t.steps else ""
    verdict = '<span class="ok">success</span>' if t.success else '<span class="bad">failed</span>'
    cell = f"{verdict} <small>score {t.score:.2f}</small><pre>{esc(_short(final)) or _missing('(no action)')}</pre>"
    if layout and final:
        cell += _img(plots.layout_uri(final, _caption(t.observation)), f"layout of {t.key}")
    return cell + _fold("full transcript", _transcript(t))


def pick_examples(run: RunData, limit: int = 6) -> list[tuple[Trajectory, Trajectory]]:
    """(failed sample, repair) pairs: verified repairs first, then a couple that still failed, across rounds."""
    parents = {t.key: t for records in run.sampled.values() for t in records}
    pairs = [(parents[r.parent], r) for rnd in sorted(run.repaired) for r in run.repaired[rnd] if r.parent in parents]
    verified = [p for p in pairs if p[1].success]
    unverified = [p for p in pairs if not p[1].success]
    n_unverified = min(len(unverified), max(2, limit - len(verified)))
    chosen = verified[: limit - n_unverified] + unverified[:n_unverified]
    return chosen[:limit]


def _examples(run: RunData) -> str:
    if not run.repaired:
        return _section("examples", "Failed → reflection → repaired", f"<p>{_missing()}</p>")
    layout = (run.env_id or "").startswith(LAYOUT_ENV_PREFIX)
    rows = []
    for failed, repaired in pick_examples(run):
        task = _caption(failed.observation) or _short(failed.observation.splitlines()[-1] if failed.observation else "", 160)
        feedback = (failed.feedback or {}).get("message") or ""
        rows.append([f"<code>{esc(failed.task_id)}</code><br>{esc(task)}", _attempt_cell(failed, layout),
                     f"<pre>{esc(_short(feedback, 400))}</pre>", f"<pre>{esc(repaired.reflection or '')}</pre>",
                     _attempt_cell(repaired, layout)])
    total = sum(len(r) for r in run.repaired.values())
    table = _table(["task", "failed attempt", "env feedback", "reflection", "repaired attempt"], rows, numeric_from=99, cls="examples")
    return _section("examples", "Failed → reflection → repaired", table,
                    f"{len(rows)} of {total} repairs; verified repairs first. The repaired attempt was re-played in a fresh episode.")


def _stages(run: RunData) -> str:
    rows, bars = [], []
    for s in run.stages:
        if s.status == "missing":
            status = _missing(NOT_RUN + (" (optional)" if s.optional else ""))
        else:
            cls = {"done": "ok", "running": "run"}.get(s.status, "missing")
            status = f'<span class="{cls}">{esc(s.status)}</span>'
        seconds = f"{s.seconds:.1f}" if s.seconds is not None else ""
        rows.append([f"<code>{esc(s.name)}</code>", status, esc(s.started or ""), esc(s.finished or ""), seconds])
        if s.seconds is not None and s.status in ("done", "running"):
            bars.append((s.name, s.seconds, s.status))
    total = sum(b[1] for b in bars)
    table = _table(["stage", "status", "started", "finished", "seconds"], rows, numeric_from=4)
    chart = plots.stages_chart(bars)
    body = f'<div class="charts"><div>{table}<p>Total: {total:.1f} s</p></div><div>{_img(chart, "stage wall time")}</div></div>'
    return _section("stages", "Stages and timings", body, "From <code>stages.json</code>; a re-run skips stages that are done.")


def _config(run: RunData) -> str:
    body = f"<pre>{esc(run.config_text)}</pre>" if run.config_text is not None else f"<p>{_missing()}</p>"
    return _section("config", "Resolved config", body, "<code>config.yaml</code> as the run resolved it.")


def _metrics(run: RunData) -> str:
    names = sorted({m["name"] for m in run.metrics} | set(METRIC_DEFINITIONS))
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
            + (_table(["name", "stage", "variant", "round", "value", "entries"], rows, numeric_from=4) if rows else f"<p>{_missing()}</p>")
            + _img(chart, "training loss"))
    return _section("metrics", "Logged metrics", body, "Every number in <code>metrics.jsonl</code> and what it means.")


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
    return _section("records", "Record files", _table(["records", "episodes", "successes", "truncated", "broken (where)"], rows),
                    "Broken episodes are data (STYLE habit 15): counted here by where they broke.")


def _section(anchor: str, title: str, body: str, note: str = "") -> str:
    """A section; `note` is this module's own HTML (never run data)."""
    note_html = f'<p class="sub">{note}</p>' if note else ""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{note_html}{body}</section>'


def render_report(run: RunData) -> str:
    """The report page as an HTML string."""
    sections = [_evaluation(run), _rounds(run), _datasets(run), _breakdowns(run), _examples(run), _stages(run), _config(run),
                _metrics(run), _errors(run)]
    nav = " · ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in (("evaluation", "evaluation"), ("rounds", "rounds"), ("data", "data"),
                                                                    ("breakdown", "breakdown"), ("examples", "examples"), ("stages", "stages"),
                                                                    ("config", "config"), ("metrics", "metrics"), ("records", "records")))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Re-ReST report: {esc(run.run_dir.name)}</title><style>{_CSS}</style></head>"
            f"<body><main>{_header(run)}<p>{nav}</p>{''.join(sections)}</main></body></html>\n")


def write_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write `RUN_DIR/report.html` (atomically) and return its path.

    Raises:
        FileNotFoundError: `run_dir` is not a folder.
    """
    run = load_run(run_dir)
    path = run.run_dir / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(run), encoding="utf-8")
    tmp.replace(path)
    return path
