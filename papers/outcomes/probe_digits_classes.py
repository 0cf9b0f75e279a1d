"""Development probe (issue 12): what sets the accuracy after a node on pathological digits?

Replays the pilot routes (``draw_pilot_routes(problem, 12, 5000)``) and 12 more
(``draw_pilot_routes(problem, 12, 7000)``) of digits-small/r4 on development seeds 200-204
(never the evaluation seeds 0-19), and prints for every eligible node its classes, samples and
quality, then per last trained node and per (previous, last) pair: the checkpoints, the mean
accuracy, its standard deviation and the share of checkpoints at or above the target 0.2.

Run from the repository root: ``.venv/bin/python papers/outcomes/probe_digits_classes.py``.
Its output (at commit ``7425afc``) is in ``probe-digits-classes.txt``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from daitn_opt.mtrce import from_instance
from daitn_opt.mtrce.calibration import basis_of, draw_pilot_routes, replay_prefixes
from daitn_opt.papers.outcomes import Settings, cases


def main() -> None:
    torch.set_num_threads(1)
    c = next(c for c in cases(Settings()) if c.name == "digits-small/r4")
    seeds = [200, 201, 202, 203, 204]
    problem = from_instance(c.instance, c.request)
    b = basis_of(c.instance, c.request)
    runs = []
    for route_seed in (5000, 7000):
        routes = draw_pilot_routes(problem, 12, route_seed)
        runs += replay_prefixes(c.instance, c.request, routes, seeds, b)
    cls = {i: tuple(np.nonzero(b.counts[i])[0]) for i in range(len(b.ids)) if b.eligible[i]}
    print({b.ids[i]: (cls[i], int(b.counts[i].sum()), round(float(b.quality[i]), 2)) for i in cls})
    bylast, bypair = defaultdict(list), defaultdict(list)
    for run in runs:
        for p, a in run:
            if p:
                bylast[p[-1]].append(a)
                if len(p) >= 2:
                    bypair[(p[-2], p[-1])].append(a)
    for i, v in sorted(bylast.items()):
        print(
            b.ids[i],
            cls[i],
            f"n={len(v)} mean={np.mean(v):.3f} sd={np.std(v):.3f} "
            f"P(>=.2)={np.mean(np.array(v) >= 0.2):.2f}",
        )
    print("pairs")
    for (i, j), v in sorted(bypair.items()):
        if len(v) >= 4:
            ov = len(set(cls[i]) & set(cls[j]))
            print(
                b.ids[i],
                cls[i],
                "->",
                b.ids[j],
                cls[j],
                "overlap",
                ov,
                f"n={len(v)} mean={np.mean(v):.3f} P={np.mean(np.array(v) >= 0.2):.2f}",
            )


if __name__ == "__main__":
    main()
