"""Each page type opened in headless Chromium: its script runs without an error or a console
message, the DOM after load has the expected elements (one marker per node, one path per route,
one row per run), the address's ``?q=``, ``?sort=`` and ``#run-N`` act on it, and a screenshot
of each page type is written.

Screenshots go to ``$DAITN_TEST_ARTIFACTS`` when set (CI keeps that folder), else to pytest's
temporary folder. Skipped when no Chromium is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from daitn_opt.bench.store import ResultsStore
from daitn_opt.drrt.instance import Instance
from daitn_opt.pages import write_explain
from daitn_opt.pages.commands import report_html
from daitn_opt.result import Result

from .conftest import STORE_ROWS, Dom, rows_of

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"),
]


def browse(page: Path, profile: Path, suffix: str = "", screenshot: Path | None = None) -> Dom:
    """Load ``page`` (plus ``suffix``: a query or a fragment) and return the DOM after load.

    Fails on any console line: pages log nothing, so a line is an error or a warning.
    """
    base = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        "--window-size=1300,1800",
    ]
    url = page.resolve().as_uri() + suffix
    done = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    dom = Dom(done.stdout)
    body = dom.select("", "body")[0]
    assert body.attrs.get("data-ready") == "1", "the page script did not finish"
    assert body.attrs.get("data-errors") == "0"
    if screenshot is not None:
        shot = subprocess.run(
            [*base, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=120
        )
        assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
        _assert_drawn(screenshot)
    return dom


def _assert_drawn(png: Path) -> None:
    """The screenshot is a real picture: more than a blank page's one colour."""
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1200
    assert float(pixels[..., :3].std()) > 0.05


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("DAITN_TEST_ARTIFACTS")
    out = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chromium-profile")


def test_report_in_the_browser(store: Path, tmp_path: Path, shots: Path, profile: Path) -> None:
    page = report_html(store, tmp_path / "report.html")
    dom = browse(page, profile, screenshot=shots / "report.png")
    family_rows = [el for el in dom.select("run-row", "tr") if el.attrs.get("data-run")]
    attention = len(rows_of((tmp_path / "report.html").read_text(), "attention-runs"))
    assert len(family_rows) == len(STORE_ROWS) + attention
    solver_curves = [
        el
        for el in dom.select("series", "path")
        if el.attrs["data-label"] not in ("incumbent", "bound")
    ]  # the others are the runs' anytime traces
    assert len(solver_curves) == 3 * (2 + 2)  # 3 charts x 2 solvers, for each of 2 problems
    # ?q= filters every table: the timeout run stays, in the attention and its family table
    shown = [
        el
        for el in browse(page, profile, "?q=timeout").select("run-row", "tr")
        if "hidden" not in el.attrs
    ]
    assert [el.attrs["data-run"] for el in shown] == ["5", "5"]
    # ?sort= sorts every table by that column; #run-N opens the run's details
    with ResultsStore(store, readonly=True) as db:
        count = db.count()
    sorted_dom = browse(page, profile, f"?sort=objective&dir=desc#run-{count}")
    rows = [el.attrs["data-run"] for el in sorted_dom.select("run-row", "tr")]
    mtrce_a = [r for r in rows if int(r) in (1, 3, 5)]  # fam-a runs of MTRCE
    assert mtrce_a[-3:] == ["3", "1", "5"]  # 103, 101, then the run without an objective
    assert "open" in sorted_dom.by_id(f"run-{count}").attrs


@pytest.mark.parametrize("kind", ["mtrce", "tfam", "qirce"])
def test_explain_in_the_browser(
    kind: str,
    small: Instance,
    route_result: Result,
    tfam_result: Result,
    qirce_result: Result,
    tmp_path: Path,
    shots: Path,
    profile: Path,
) -> None:
    result = {"mtrce": route_result, "tfam": tfam_result, "qirce": qirce_result}[kind]
    page = write_explain(small, result, tmp_path / f"explain-{kind}.html")
    dom = browse(page, profile, screenshot=shots / f"explain-{kind}.png")
    assert dom.select("", "body")[0].attrs["data-page"] == f"explain-{kind}"
    markers = sorted(el.attrs["data-id"] for el in dom.select("node"))
    assert markers == sorted(small.snapshot.ids())
    # MTRCE: one path per route; T-FAM: per admitted plan; QIRCE: per query route
    expected = len(result.solution["admitted" if kind == "tfam" else "routes"])
    assert len(dom.select("route", "path")) == expected > 0
