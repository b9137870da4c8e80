"""The "failed -> reflection -> repaired" examples: chosen pairs, transcripts, and layout drawings for Layout envs."""

from __future__ import annotations

from rerest_agents.report import plots
from rerest_agents.report.load import RunData
from rerest_agents.report.markup import esc, fold, img, missing, section, table
from rerest_agents.rollout.records import Trajectory

#: Envs whose answers are drawn as layouts (`rerest_envs.layout.draw_layout`).
LAYOUT_ENV_PREFIX = "rerest/Layout"


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
    cell = f"{verdict} <small>score {t.score:.2f}</small><pre>{esc(_short(final)) or missing('(no action)')}</pre>"
    if layout and final:
        cell += img(plots.layout_uri(final), f"layout of {t.key}")
    return cell + fold("full transcript", _transcript(t))


def pick_examples(run: RunData, limit: int = 6) -> list[tuple[Trajectory, Trajectory]]:
    """(failed sample, repair) pairs: verified repairs first, then a couple that still failed, across rounds."""
    parents = {t.key: t for records in run.sampled.values() for t in records}
    pairs = [(parents[r.parent], r) for rnd in sorted(run.repaired) for r in run.repaired[rnd] if r.parent in parents]
    pairs = _one_per_task_first(pairs)
    verified = [p for p in pairs if p[1].success]
    unverified = [p for p in pairs if not p[1].success]
    n_unverified = min(len(unverified), max(2, limit - len(verified)))
    chosen = verified[: limit - n_unverified] + unverified[:n_unverified]
    return chosen[:limit]


def _one_per_task_first(pairs: list[tuple[Trajectory, Trajectory]]) -> list[tuple[Trajectory, Trajectory]]:
    """The first pair of each task, then the other pairs (so examples show different tasks when they can)."""
    seen: set[str] = set()
    first, rest = [], []
    for pair in pairs:
        (rest if pair[0].task_id in seen else first).append(pair)
        seen.add(pair[0].task_id)
    return first + rest


def examples_section(run: RunData) -> str:
    if not run.repaired:
        return section("examples", "Failed → reflection → repaired", f"<p>{missing()}</p>")
    layout = (run.env_id or "").startswith(LAYOUT_ENV_PREFIX)
    rows = []
    for failed, repaired in pick_examples(run):
        task = _caption(failed.observation) or _short(failed.observation.splitlines()[-1] if failed.observation else "", 160)
        feedback = (failed.feedback or {}).get("message") or ""
        rows.append([f"<code>{esc(failed.task_id)}</code><br>{esc(task)}", _attempt_cell(failed, layout),
                     f"<pre>{esc(_short(feedback, 400))}</pre>", f"<pre>{esc(repaired.reflection or '')}</pre>",
                     _attempt_cell(repaired, layout)])
    total = sum(len(r) for r in run.repaired.values())
    tbl = table(["task", "failed attempt", "env feedback", "reflection", "repaired attempt"], rows, numeric_from=99, cls="examples")
    return section("examples", "Failed → reflection → repaired", tbl,
                    f"{len(rows)} of {total} repairs; verified repairs first. The repaired attempt was re-played in a fresh episode.")
