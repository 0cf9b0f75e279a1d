#!/usr/bin/env bash
# OPLib: `ils` alone against EA4OP's values, 2 s wall per instance for n <= 200 and 10 s above,
# two bench workers on the 2-core machine, run when nothing else runs (the full `paper routing`
# sweep ran at load 13-31). Writes the stores under out/oplib-idle/ and prints the table of
# oplib-ils-idle.md. Run from the repository root.
set -euo pipefail
out=out/oplib-idle
mkdir -p "$out/json"
for f in instances/classic/oplib/gen*/*.oplib; do
    j="$out/json/$(basename "$f" .oplib).json"
    [ -f "$j" ] || .venv/bin/daitn-opt convert oplib "$f" -o "$j" >/dev/null
done
small=() large=()
for j in "$out"/json/*.json; do
    n=$(basename "$j" | sed -E 's/^[A-Za-z]+([0-9]+).*/\1/')
    if [ "$n" -le 200 ]; then small+=("$j"); else large+=("$j"); fi
done
.venv/bin/daitn-opt bench "${small[@]}" --problem mtrce --solvers ils --time-limit 2 --seeds 0 \
    --workers 2 --db "$out/small.sqlite"
.venv/bin/daitn-opt bench "${large[@]}" --problem mtrce --solvers ils --time-limit 10 --seeds 0 \
    --workers 2 --db "$out/large.sqlite"
.venv/bin/python - "$out/small.sqlite" "$out/large.sqlite" <<'PY'
import re, sqlite3, statistics, sys
print("| nodes | limit | instances | mean gap to EA4OP | max gap | ahead of EA4OP | at or ahead | mean load |")
print("|---|---|---|---|---|---|---|---|")
for db, limit in zip(sys.argv[1:], ("2 s", "10 s")):
    rows = sqlite3.connect(db).execute(
        "select instance, objective, best_known, load_at_start from runs").fetchall()
    by = {}
    for inst, obj, best, load in rows:
        n = int(re.match(r"[A-Za-z]+(\d+)", inst).group(1))
        gap = 100.0 if obj is None else 100 * (best - obj) / abs(best)
        band = "<= 200" if n <= 200 else ("201-500" if n <= 500 else "501-1000")
        by.setdefault(band, []).append((gap, load))
        by.setdefault("all " + limit, []).append((gap, load))
    for band, vals in by.items():
        g = [v[0] for v in vals]
        print(f"| {band} | {limit} | {len(g)} | {statistics.mean(g):.3f}% | {max(g):.2f}% | "
              f"{sum(x < -1e-9 for x in g)} | {sum(x <= 1e-9 for x in g)} | "
              f"{statistics.mean(v[1] for v in vals):.1f} |")
PY
