"""The driver of ``daitn-opt paper da-itn``: run the experiments in order, write every file.

:func:`run_daitn` runs each experiment of :data:`EXPERIMENTS` (or those named in
``settings.only``), writes its section (``N-name.md``, CSV tables, PNG figures) and a
``README.md`` index with the provenance (commit, versions, parameters), the run time and each
experiment's headline. Nothing here prints: progress goes to ``progress(event, data)``.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from ...errors import InputError
from .common import Progress, Section, Settings, write_section

ROOT = Path(__file__).resolve().parents[3]
EXPERIMENTS = ("prototype", "admission", "concurrent", "privacy", "decentral", "scaling", "drift")
"""Module names under :mod:`daitn_opt.papers.daitn`, in the order they run."""
OUT_OF_SCOPE = (
    "the concurrent replay (experiment 3 of the issue, page 3-concurrent) times plans with the "
    "views' transfer, training and verification times and shares slots and MPVU queues; it trains "
    "no model and does not model link contention."
)


def provenance(settings: Settings) -> dict[str, Any]:
    """Commit, dirty files, Python and package versions, settings."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout

    versions = {}
    for pkg in ("daitn-opt", "numpy", "scipy", "highspy", "torch", "matplotlib"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty": [
            ln[3:] for ln in git("status", "--porcelain", "--untracked-files=no").splitlines()
        ],
        "python": platform.python_version(),
        "versions": versions,
        "settings": vars(settings).copy(),
    }


def run_daitn(
    out_dir: Path, settings: Settings, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the experiments and write their files into ``out_dir``; returns meta and sections."""
    import torch

    torch.set_num_threads(1)
    progress = progress or (lambda event, data: None)
    names = settings.only or list(EXPERIMENTS)
    for name in names:
        if name not in EXPERIMENTS:
            raise InputError("experiment", name, f"unknown; known: {', '.join(EXPERIMENTS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = provenance(settings)
    t0 = time.perf_counter()
    sections: list[Section] = []
    files: list[Path] = []
    for name in names:
        progress("start", {"experiment": name})
        module = importlib.import_module(f"{__package__}.{name}")
        started = time.perf_counter()
        try:
            section = module.run(settings, progress)
        except Exception as exc:
            section = Section(f"{names.index(name) + 1}-{name}", f"Experiment {name}: FAILED")
            section.headline = [f"failed: {type(exc).__name__}: {exc}"]
            progress("failed", {"experiment": name, "error": repr(exc)})
        section.seconds = time.perf_counter() - started
        files += write_section(out, section, stamp(meta))
        sections.append(section)
        progress("done", {"experiment": name, "seconds": section.seconds})
    meta["seconds"] = time.perf_counter() - t0
    files.append(write_index(out, sections, meta))
    return {"meta": meta, "sections": sections, "files": files}


def stamp(meta: dict[str, Any]) -> str:
    """One line of provenance for a section page."""
    dirty = f" (uncommitted changes in {', '.join(meta['dirty'])})" if meta["dirty"] else ""
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return f"Commit `{meta['commit']}`{dirty}; Python {meta['python']}; {versions}."


PAGE = re.compile(r"^(\d+)-[a-z-]+\.md$")


def pages(out: Path) -> list[dict[str, Any]]:
    """Title, run time and headline of every section page in ``out`` (also those of earlier
    runs with ``only``), in experiment order."""
    found = []
    for path in sorted(out.glob("*.md"), key=lambda p: p.name):
        m = PAGE.match(path.name)
        if not m:
            continue
        text = path.read_text(encoding="utf-8").splitlines()
        head = text.index("## Headline") if "## Headline" in text else len(text)
        bullets = []
        for line in text[head + 2 :]:  # the bullets run from after the blank line to the next
            if not line.startswith("- "):
                break
            bullets.append(line[2:])
        took = next((ln for ln in text if ln.startswith("Run time: ")), "")
        seconds = float(took.split()[2]) if took else 0.0
        found.append(
            {
                "name": path.stem,
                "title": text[0].lstrip("# "),
                "headline": bullets,
                "seconds": seconds,
                "order": int(m.group(1)),
            }
        )
    return sorted(found, key=lambda p: p["order"])


def write_index(out: Path, sections: list[Section], meta: dict[str, Any]) -> Path:
    """``README.md``: provenance, run time, each experiment's headline and page (every page
    in ``out``, so that a run of a few experiments keeps the others' entries)."""
    found = pages(out)
    total = sum(p["seconds"] for p in found)
    lines = [
        "# The DA-ITN paper, made measurable (issue 16)",
        "",
        "Regenerate with `daitn-opt paper da-itn` (`--quick` for the few-minute run); every "
        "interval is a 95% t confidence interval over seeds.",
        "",
        f"- {stamp(meta)}",
        f"- settings of this invocation: `{meta['settings']}` (each page states its own "
        "parameters)",
        f"- run time of the experiments below: {total:.0f} s in all on this machine (2 cores, "
        f"shared); this invocation ({', '.join(s.name for s in sections)}): "
        f"{meta['seconds']:.0f} s",
        "",
        f"Limits: {OUT_OF_SCOPE}",
        "",
    ]
    for p in found:
        lines += [f"## [{p['title']}]({p['name']}.md)", "", f"Run time {p['seconds']:.0f} s.", ""]
        lines += [*[f"- {h}" for h in p["headline"]], ""]
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


__all__ = ["EXPERIMENTS", "run_daitn", "write_index"]
