"""HTML building blocks of the report: escaping, tables, folds, images, sections, and the page style.

Cells passed to `table` are HTML already: callers escape run data with `esc`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from rerest_agents.report.load import Rate

NOT_RUN = "not run yet"

CSS = """
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
.example{border:1px solid #e1e4e8;border-radius:6px;margin:10px 0;padding:6px 12px 8px}
.example p.task{margin:2px 0 6px}
.example-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,.8fr) minmax(0,1fr);gap:14px}
.example h4{font-size:12px;color:#5b6570;margin:4px 0 2px;font-weight:600}
.example img{border:1px solid #ccd;margin-top:4px}
p.note{font-size:11px;color:#5b6570;margin:2px 0}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f5;padding:0 3px;border-radius:3px}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def missing(text: str = NOT_RUN) -> str:
    return f'<span class="missing">{esc(text)}</span>'


def pct(value: float | None) -> str:
    return missing("—") if value is None else f"{value:.1%}"


def ci(low: float, high: float) -> str:
    """A 95% interval of a share: `[10.5%, 34.8%]`."""
    return f"[{low:.1%}, {high:.1%}]"


def rate(rate: Rate | None) -> str:
    if rate is None or rate.n == 0:
        return missing("—")
    return f"{rate.value:.1%} <small>({rate.k}/{rate.n})</small>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int = 1, cls: str = "") -> str:
    """A table; cells are already HTML (callers escape); columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">{missing()}</td></tr>')
    class_attr = f' class="{cls}"' if cls else ""
    return f"<table{class_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def img(uri: str | None, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">' if uri else ""


def fold(summary: str, body: str) -> str:
    return f"<details><summary>{esc(summary)}</summary><pre>{esc(body)}</pre></details>"


# -- sections -----------------------------------------------------------------------------------------
def section(anchor: str, title: str, body: str, note: str = "") -> str:
    """A section; `note` is this module's own HTML (never run data)."""
    note_html = f'<p class="sub">{note}</p>' if note else ""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{note_html}{body}</section>'
