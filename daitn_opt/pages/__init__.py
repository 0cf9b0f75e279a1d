"""Self-contained HTML pages: a benchmark store's report and the explanation of one decision.

- :func:`report_page` / :func:`~daitn_opt.pages.commands.report_html`: ``daitn-opt report --html``;
- :func:`write_explain`: one page per decision (``daitn-opt explain``, the demo's plans).

Every page inlines its style, script and SVG: it opens offline and fetches nothing.

From Python (the demo writes one page per plan it shows)::

    from daitn_opt.pages import write_explain

    write_explain(instance, result, out / "explain-highs.html", replay=outcome)

``instance`` an :class:`~daitn_opt.drrt.instance.Instance` or its path, ``result`` a
:class:`~daitn_opt.result.Result` (its ``instance`` and ``request`` set, as ``solve`` does on the
command line) or a result file, ``replay`` an ``Outcome``/``ServingOutcome``, its ``to_dict()``, a
replay JSON path, or None.
"""

from __future__ import annotations

from typing import Any

__all__ = ["explain_html", "report_page", "write_explain"]


def __getattr__(name: str) -> Any:
    # Imported on use: the CLI imports this package for its command list only.
    if name == "report_page":
        from .report_page import report_page

        return report_page
    if name in ("explain_html", "write_explain"):
        from . import explain_page

        return getattr(explain_page, name)
    raise AttributeError(name)
