"""HTML building blocks of the report: escaping, tables, the stylesheet and the page shell.

Strings from the bundle are escaped in exactly one place (`esc`, used by `table` and
`kv`); the page carries a Content-Security-Policy that forbids every fetch and script, so
even a missed escape could neither run code nor call out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from verifier.report.svg import esc

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root{--ink:#1b2430;--muted:#5b6675;--line:#d5dae1;--soft:#f4f6f9;--ok:#1e7b45;
--fail:#b3261e;--warn:#9a6400;--accent:#1f5fa8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "DejaVu Sans","Liberation Sans",Arial,sans-serif;color:var(--ink);
background:#fff}
main{max-width:1040px;margin:0 auto;padding:28px 32px 48px}
header.top{border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:18px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line);
break-after:avoid}
h3{font-size:14px;margin:18px 0 6px}
.sub{color:var(--muted);font-size:12.5px}
.verdict{display:flex;gap:18px;align-items:center;padding:14px 18px;border-radius:6px;
border:2px solid;margin:8px 0 14px}
.verdict .word{font-size:26px;font-weight:700;letter-spacing:.04em}
.verdict.OK{border-color:var(--ok);background:#eef8f1}.verdict.OK .word{color:var(--ok)}
.verdict.FAIL{border-color:var(--fail);background:#fdf0ef}.verdict.FAIL .word{color:var(--fail)}
.verdict.INCONCLUSIVE{border-color:var(--warn);background:#fff7e6}
.verdict.INCONCLUSIVE .word{color:var(--warn)}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:12.5px}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
table.kv th{width:220px}
td.mono,.mono{font-family:"DejaVu Sans Mono","Liberation Mono",monospace;font-size:11.5px;
word-break:break-all}
td.nowrap{white-space:nowrap}
.pass{color:var(--ok);font-weight:700}.fail{color:var(--fail);font-weight:700}
.undecided{color:var(--warn);font-weight:700}
.grid2{display:grid;grid-template-columns:520px 1fr;gap:22px;align-items:start}
svg{display:block;max-width:100%;height:auto}
svg text{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;font-size:11px;
fill:var(--ink)}
svg .tick{fill:var(--muted);font-size:10.5px}svg .axis{font-size:11.5px}
.plot-bg{fill:#fbfcfd;stroke:var(--line)}.grid{stroke:#e6e9ee;stroke-width:1}
.series{fill:none;stroke-width:1.6;stroke-linejoin:round}
.event{stroke:var(--fail);stroke-width:1.5;stroke-dasharray:5 3}
.map-bg{fill:#f3f6f2;stroke:var(--line)}
.tl-window{fill:#fff3d6;stroke:var(--warn)}.tl-batch{fill:var(--accent)}
.tl-unc{fill:#9bbbe0;opacity:.6}.tl-nb{stroke:var(--ok);stroke-width:2}
.tl-na{stroke:var(--fail);stroke-width:2}.tl-gnss{fill:#8e44ad}
.track{fill:none;stroke:var(--accent);stroke-width:3;stroke-linejoin:round;stroke-linecap:round}
.start{fill:var(--ok);stroke:#fff;stroke-width:2}.end{fill:var(--ink);stroke:#fff}
.event-marker circle{fill:none;stroke:var(--fail);stroke-width:3}
.event-marker circle+circle{fill:var(--fail)}
.scale line{stroke:var(--ink);stroke-width:3}.north path{fill:var(--ink)}
.figure{border:1px solid var(--line);border-radius:4px;padding:8px;margin:8px 0 14px}
.figure .cap{color:var(--muted);font-size:12px;margin:4px 2px 0}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:5px}
.note{background:var(--soft);border-left:4px solid var(--accent);padding:8px 12px;margin:8px 0}
.warnbox{background:#fff7e6;border-left:4px solid var(--warn);padding:8px 12px;margin:8px 0}
pre{background:#111923;color:#e8edf3;padding:12px 14px;border-radius:4px;overflow-x:auto;
font:12px/1.5 "DejaVu Sans Mono","Liberation Mono",monospace;white-space:pre-wrap}
ul.limits li{margin:4px 0}
footer{margin-top:34px;color:var(--muted);font-size:11.5px;border-top:1px solid var(--line);
padding-top:8px}
@media print{main{max-width:none;padding:0 6mm}body{font-size:11px}
.figure,table,.verdict{break-inside:avoid}pre{background:#fff;color:#000;border:1px solid #999}
h2{break-after:avoid}a{color:inherit;text-decoration:none}}
@page{size:A4;margin:14mm 12mm}
"""


def kv(rows: Iterable[tuple[str, object]], mono: Sequence[str] = ()) -> str:
    """A two-column table of labelled values; labels in `mono` get a fixed-width cell."""
    body = "".join(
        f"<tr><th>{esc(k)}</th><td{' class=mono' if k in mono else ''}>{esc(v)}</td></tr>"
        for k, v in rows
    )
    return f'<table class="kv">{body}</table>'


def table(
    head: Sequence[str], rows: Iterable[Sequence[object]], cls: Sequence[str] = (), tid: str = ""
) -> str:
    """A table of escaped cells; `cls[i]` is a CSS class for column i (e.g. "mono")."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    trs = []
    for row in rows:
        tds = "".join(
            f'<td class="{esc(cls[i])}">{esc(v)}</td>' if i < len(cls) and cls[i]
            else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )  # fmt: skip
        trs.append(f"<tr>{tds}</tr>")
    idattr = f' id="{esc(tid)}"' if tid else ""
    return f"<table{idattr}><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


def page(title: str, body: str) -> str:
    """The whole document: one file, no external resource of any kind."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
