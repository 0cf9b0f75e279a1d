"""OPLib side by side with EA4OP: the OPLib family of ``daitn-opt paper routing`` alone.

Usage (from the repository root)::

    .venv/bin/python papers/routing/oplib_side_by_side.py [--workers 2] [--report-only]

Everything (conversion, the bench store, the page ``oplib.md`` and ``oplib-runs.csv``) is done by
:mod:`daitn_opt.papers.routing`; this script only narrows it to the OPLib family. Any option of
``python -m daitn_opt.papers.routing`` is accepted.
"""

import sys

from daitn_opt.papers.routing.__main__ import main

if __name__ == "__main__":
    main(["--families", "oplib", *sys.argv[1:]])
