"""The "failed -> reflection -> repaired" examples: chosen pairs, transcripts, and a picture of each attempt where the env
has one (`pictures.Pictures`: Layout drawings, GQA re-played through the env's render, ALFWorld drawn from the record)."""

from __future__ import annotations

from rerest_agents.report.load import RunData
from rerest_agents.report.markup import esc, fold, img, missing, section
from rerest_agents.report.pictures import Pictures
from rerest_agents.rollout.records import Trajectory

#: Where the task is said in a first observation, per env: Layout, HotpotQA/GQA, ALFWorld, MBPP.
TASK_MARKERS = ("Caption:", "Question:", "Your task is to:", "here is your task:")


def task_line(observation: str) -> str:
    """The sentence of a first observation that states the task (its first non-empty line when no marker is found)."""
    lines = [line.strip() for line in observation.splitlines() if line.strip()]
    for marker in TASK_MARKERS:
        for line in lines:
            if marker in line:
                return line.split(marker, 1)[1].strip()
    return lines[0] if lines else ""


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


def _attempt_cell(t: Trajectory, pictures: Pictures) -> str:
    final = t.steps[-1].action if t.steps else ""
    verdict = '<span class="ok">success</span>' if t.success else '<span class="bad">failed</span>'
    turns = f", {len(t.steps)} turns" if len(t.steps) > 1 else ""
    cell = f"{verdict} <small>score {t.score:.2f}{turns}</small>"
    if t.error:
        cell += f'<br><span class="bad">broken ({esc(t.error.get("where"))})</span> <small>{esc(_short(str(t.error.get("message")), 160))}</small>'
    cell += f"<pre>{esc(_short(final))}</pre>" if final else f"<p>{missing('(no action)')}</p>"
    uri, note = pictures.of(t)
    cell += img(uri, f"picture of {t.key}")
    if note:
        cell += f'<p class="note">{esc(note)}</p>'
    return cell + fold("full transcript", _transcript(t))


def _text_cell(text: str, limit: int, empty: str) -> str:
    return f"<pre>{esc(_short(text, limit))}</pre>" if text.strip() else f"<p>{missing(empty)}</p>"


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


def examples_section(run: RunData, *, replay: bool = True) -> str:
    """The examples table; `replay=False` draws no picture that needs the env re-played (GQA)."""
    if not run.repaired:
        return section("examples", "Failed → reflection → repaired", f"<p>{missing()}</p>")
    pictures = Pictures(run, replay=replay)
    blocks = []
    try:
        for n, (failed, repaired) in enumerate(pick_examples(run), start=1):
            feedback = (failed.feedback or {}).get("message") or ""
            middle = (f"<h4>env feedback</h4>{_text_cell(feedback, 600, '(broken episode: no feedback)' if failed.error else '(no feedback)')}"
                      f"<h4>reflection</h4>{_text_cell(repaired.reflection or '', 1000, '(no reflection)')}")
            blocks.append(f'<div class="example"><p class="task"><b>{n}.</b> <code>{esc(failed.task_id)}</code> '
                          f"{esc(_short(task_line(failed.observation), 300))}</p>"
                          f'<div class="example-grid"><div><h4>failed attempt</h4>{_attempt_cell(failed, pictures)}</div>'
                          f"<div>{middle}</div><div><h4>repaired attempt</h4>{_attempt_cell(repaired, pictures)}</div></div></div>")
    finally:
        pictures.close()
    total = sum(len(r) for r in run.repaired.values())
    return section("examples", "Failed → reflection → repaired", "".join(blocks),
                   f"{len(blocks)} of {total} repairs; verified repairs first. The repaired attempt was re-played in a fresh episode.")
