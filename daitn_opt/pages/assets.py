"""The page skeleton shared by every HTML page: inline CSS, inline JS, escaping and tables.

Pages are single self-contained files: the style sheet and the script below are inlined, no
font, image or script is fetched from anywhere, so a page opens offline and can be mailed as is.
The script does three small things: sortable and filterable tables (``?q=`` in the address
pre-fills every filter, ``?sort=column`` sorts every table by that column), opening the
``<details>`` a ``#run-N`` link points at, and counting script errors into
``body[data-errors]`` so that a headless browser test can read them from the DOM.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

CSS = """
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d6dbe1;--bad:#b3261e;--ok:#1e7b34;--bg:#fff;
--soft:#f4f6f8;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg)}
body{margin:0 auto;max-width:1280px;padding:16px 24px 48px;background:var(--bg);line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid
var(--line);padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
.muted{color:var(--muted)}.bad{color:var(--bad);font-weight:600}.ok{color:var(--ok)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:.6em 0}.card{border:1px solid var(--line);
border-radius:6px;padding:6px 12px;background:var(--soft)}.card b{display:block;font-size:1.15em}
table{border-collapse:collapse;font-size:13px;margin:.3em 0 .8em}th,td{border-bottom:1px solid
var(--line);padding:3px 8px;text-align:left;vertical-align:top}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums}table.sortable th{cursor:pointer;user-select:none;
background:var(--soft);position:sticky;top:0}th[data-dir=asc]::after{content:" \\25B2"}
th[data-dir=desc]::after{content:" \\25BC"}tr.attention td{background:#fdecea}
.tablebox{max-height:520px;overflow:auto;border:1px solid var(--line);margin-bottom:1em}
.tablebox table{margin:0;width:100%}input.filter{margin:.2em 0;padding:3px 6px;width:320px}
.count{margin-left:8px;color:var(--muted);font-size:12px}.charts{display:flex;flex-wrap:wrap;
gap:12px}figure{margin:0}figcaption{font-size:12px;color:var(--muted);max-width:405px}
svg text{font-family:inherit}details{margin:.2em 0}details>summary{cursor:pointer}
details.run{border:1px solid var(--line);border-radius:4px;padding:4px 8px}
details.run[open]{background:var(--soft)}code{font-size:12px}
"""

JS = """
(function () {
  var body = document.body;
  body.dataset.errors = body.dataset.errors || '0';
  window.addEventListener('error', function () {
    body.dataset.errors = String(Number(body.dataset.errors) + 1);
  });
  function cellKey(td) {
    var raw = td.hasAttribute('data-sort') ? td.getAttribute('data-sort') : td.textContent.trim();
    var num = Number(raw);
    return raw !== '' && isFinite(num) ? [0, num] : [raw === '' ? 2 : 1, raw.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    return a[1] < b[1] ? -1 : (a[1] > b[1] ? 1 : 0);
  }
  function sortBy(table, col, dir) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (r1, r2) {
      var a = cellKey(r1.cells[col]);
      var b = cellKey(r2.cells[col]);
      // empty cells (unknown values) stay last in either direction
      if ((a[0] === 2) !== (b[0] === 2)) { return a[0] === 2 ? 1 : -1; }
      var c = compare(a, b);
      return dir === 'desc' ? -c : c;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, k) {
      if (k === col) { th.dataset.dir = dir; } else { th.removeAttribute('data-dir'); }
    });
  }
  function filter(table, text) {
    var words = text.toLowerCase().split(/\\s+/).filter(Boolean);
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      var hay = tr.textContent.toLowerCase();
      var keep = words.every(function (w) { return hay.indexOf(w) >= 0; });
      tr.hidden = !keep;
      shown += keep ? 1 : 0;
    });
    var count = document.querySelector('.count[data-for="' + table.id + '"]');
    if (count) { count.textContent = shown + ' of ' + table.tBodies[0].rows.length + ' rows'; }
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener('click', function () {
        sortBy(table, col, th.dataset.dir === 'asc' ? 'desc' : 'asc');
      });
    });
  });
  var params = new URLSearchParams(window.location.search);
  Array.prototype.forEach.call(document.querySelectorAll('input.filter'), function (input) {
    var table = document.getElementById(input.dataset.table);
    if (!table) { return; }
    input.addEventListener('input', function () { filter(table, input.value); });
    if (params.has('q')) { input.value = params.get('q'); }
    filter(table, input.value);
  });
  if (params.has('sort')) {
    var name = params.get('sort').toLowerCase();
    var dir = params.get('dir') === 'desc' ? 'desc' : 'asc';
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
        if (th.textContent.trim().toLowerCase() === name) { sortBy(table, col, dir); }
      });
    });
  }
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === 'DETAILS') { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  body.dataset.ready = '1';
})();
"""


def esc(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 6) -> str:
    """A number as a short string (``-`` for None/nan, ``inf`` kept), anything else as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    return str(value)


def pct(value: float | None, digits: int = 3) -> str:
    """A fraction as a percentage (``-`` when unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.{digits}g}%"


@dataclass(frozen=True)
class Cell:
    """One table cell: the HTML shown, the value it sorts by, and whether it is numeric."""

    html: str
    sort: str | None = None
    numeric: bool = False


def text_cell(value: Any) -> Cell:
    return Cell(esc(value))


def num_cell(value: Any, shown: str | None = None) -> Cell:
    """A numeric cell: sorts by the value (unknown values sort last), shows ``shown`` or fmt."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    finite = ok and math.isfinite(value)
    key = repr(float(value)) if finite else ""
    return Cell(esc(shown if shown is not None else fmt(value)), key, True)


def table(
    table_id: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    row_attrs: Iterable[dict[str, str]] | None = None,
    filterable: bool = True,
    caption: str = "",
) -> str:
    """A sortable (click a header) and, by default, filterable table in a scrolling box."""
    rows = [list(r) for r in rows]
    attrs = list(row_attrs) if row_attrs is not None else [{} for _ in rows]
    numeric = [bool(rows) and all(r[k].numeric for r in rows) for k in range(len(columns))]
    out = []
    if filterable:
        out.append(
            f'<div><input class="filter" type="search" data-table="{esc(table_id)}" '
            f'placeholder="filter rows (words, all must match)" aria-label="filter">'
            f'<span class="count" data-for="{esc(table_id)}">{len(rows)} rows</span></div>'
        )
    out.append(f'<div class="tablebox"><table class="sortable" id="{esc(table_id)}">')
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    head = "".join(
        f'<th class="num">{esc(c)}</th>' if num else f"<th>{esc(c)}</th>"
        for c, num in zip(columns, numeric, strict=True)
    )
    out.append(f"<thead><tr>{head}</tr></thead><tbody>")
    for cells, extra in zip(rows, attrs, strict=True):
        tr = "".join(f' {esc(k)}="{esc(v)}"' for k, v in extra.items())
        tds = []
        for cell in cells:
            cls = ' class="num"' if cell.numeric else ""
            key = f' data-sort="{esc(cell.sort)}"' if cell.sort is not None else ""
            tds.append(f"<td{cls}{key}>{cell.html}</td>")
        out.append(f"<tr{tr}>{''.join(tds)}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def cards(items: Iterable[tuple[str, str]]) -> str:
    """Headline figures as small cards: (label, value shown)."""
    body = "".join(f'<div class="card">{esc(k)}<b>{esc(v)}</b></div>' for k, v in items)
    return f'<div class="cards">{body}</div>'


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def page(title: str, body: str, *, kind: str) -> str:
    """A complete HTML document: ``body`` wrapped with the inline style sheet and script.

    ``kind`` ("report", "explain-mtrce", ...) is written to ``body[data-page]`` for tests.
    """
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f'<body data-page="{esc(kind)}" data-errors="0">{body}'
        f"<script>{JS}</script></body></html>\n"
    )
