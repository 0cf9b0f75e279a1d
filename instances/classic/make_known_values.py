"""Rebuild daitn_opt/drrt/converters/known_values.json from the raw files in this folder.

Run from the repository root: ``python instances/classic/make_known_values.py``. Every value is
read from a shipped source file (TSPLIB ``solutions``, the OP literature logs, ``chaoResults.txt``,
Righini and Salani's result archives), except the Chao-set optima proven by Fischetti,
Salazar-Gonzalez and Toth (1998) and re-proved with HiGHS, which are copied from the table in
README.md (``opt64``/``opt66`` below).
"""

import collections
import glob
import json
import os
import re
import zipfile

B = os.path.dirname(os.path.abspath(__file__))


def text_lines(path):
    with open(path) as fh:
        return fh.read().splitlines()


def rows_of(path):
    return [line.split() for line in text_lines(path) if line.split()]


out = {
    "sources": {
        "tsplib-solutions": "TSPLIB 'solutions' file (G. Reinelt, TSPLIB 95): optimal tour lengths, all proven optimal",
        "chao-op-1996": "I.-M. Chao, B. L. Golden and E. A. Wasil (1996), A fast and effective heuristic for the orienteering problem, European Journal of Operational Research 88(3):475-489 (literature_values_vns_dopn/results-chao.log); proven optimal: re-proved with an exact solver, each within about 30 s (instances/classic/README.md)",
        "fst-1998": "M. Fischetti, J. J. Salazar-Gonzalez and P. Toth (1998), Solving the orienteering problem through branch-and-cut, INFORMS Journal on Computing 10(2):133-148; optimum re-proved with HiGHS (instances/classic/README.md, Chao sets table)",
        "op-logs": "best value in the literature logs literature_values_vns_dopn/results-*.log (heuristic values, not proven optimal)",
        "chao-top-1996": "I.-M. Chao, B. L. Golden and E. A. Wasil (1996), The team orienteering problem, European Journal of Operational Research 88(3):464-474 (top/chaoResults.txt); heuristic values, not proven optimal",
        "rs-2009": "G. Righini and M. Salani (2009), Decremental state space relaxation strategies and initialization heuristics for solving the orienteering problem with time windows with dynamic programming, Computers & Operations Research 36(4):1191-1203 (optw/righini_salani_results/*.zip); distances rounded down to one decimal (Solomon) as their printed routes show",
    },
    "tsplib": {},
    "op": {},
    "top": {},
    "optw": {},
}

# TSPLIB
for line in text_lines(f"{B}/tsplib/solutions"):
    if ":" not in line:
        continue
    name, val = line.split(":", 1)
    name = name.strip()
    val = val.split()[0]
    m = re.search(r"(\d+)$", name)
    rec = {
        "value": int(val),
        "proven": True,
        "source": "tsplib-solutions",
        "dimension": int(m.group(1)),
    }
    if "(" in line:
        rec["note"] = line.split(":", 1)[1].strip()
    out["tsplib"][name] = rec
# The larger graphs shipped from OPLib's copies (tsplib/from_oplib.py; README.md, tsplib/)
for path in sorted(glob.glob(f"{B}/tsplib/*.tsp")):
    if not any("graph of the OPLib file" in line for line in text_lines(path)[:6]):
        continue
    name = os.path.basename(path)[:-4]
    rec = out["tsplib"][name]
    with open(f"{B}/oplib/gen1/{name}-gen1-50.oplib") as fh:
        limit = float(re.search(r"COST_LIMIT\s*:\s*(\S+)", fh.read()).group(1))
    if limit == -(-rec["value"] // 2):
        check = f"agrees with OPLib's generation-1 COST_LIMIT {limit:g} = ceil(value / 2)"
    else:  # dsj1000: README.md, tsplib/
        check = (
            f"OPLib's generation-1 COST_LIMIT {limit:.0f} is half of {2 * limit:.0f}, not of this "
            "value: the optimum of the same points under EUC_2D rounding (README.md, tsplib/)"
        )
    rec["note"] = "; ".join(
        x
        for x in (
            rec.get("note"),
            f"graph shipped from OPLib's copy of the TSPLIB file (tsplib/from_oplib.py); {check}",
        )
        if x
    )

# OP
logs = collections.defaultdict(dict)
for f in sorted(glob.glob(f"{B}/op/literature_values_vns_dopn/*.log")):
    for line in text_lines(f):
        line = line.strip()
        if not line:
            continue
        d = dict(kv.split(":", 1) for kv in line.strip(";").split(";"))
        logs[(d["NAME"], int(float(d["BUDGET"])))][f"{os.path.basename(f)}:{d['METHOD']}"] = int(
            float(d["REWARDS"])
        )
# README table of Chao set optima (shared benchmarks README)
opt64 = {
    15: 96,
    20: 294,
    25: 390,
    40: 714,
    45: 816,
    50: 900,
    55: 984,
    60: 1062,
    65: 1116,
    70: 1188,
    75: 1236,
    80: 1284,
}
opt66 = {5: 10, 10: 40, 15: 120}
setname = {
    "tsiligirides_1": "Tsiligirides Set 1",
    "tsiligirides_2": "Tsiligirides Set 2",
    "tsiligirides_3": "Tsiligirides Set 3",
    "chao_set_64": "Chao diamond-shaped Set",
    "chao_set_66": "Chao squared-shaped Set",
}
for folder, logname in setname.items():
    for f in sorted(glob.glob(f"{B}/op/{folder}/*.txt")):
        stem = os.path.basename(f)[:-4]
        rows = rows_of(f)
        budget = float(rows[0][0])
        points = len(rows) - 1
        vals = logs[(logname, int(budget))]
        rec = {"budget": budget, "points": points}
        if folder.startswith("tsiligirides"):
            v = vals["results-chao.log:chao"]
            rec.update(value=v, proven=True, source="chao-op-1996")
            higher = {k: x for k, x in vals.items() if x > v}
            if higher:
                rec["note"] = (
                    "higher values reported in the logs contradict the proven optimum (another distance convention or a budget overrun): "
                    + ", ".join(f"{k} {x}" for k, x in sorted(higher.items()))
                )
        else:
            table = opt64 if folder == "chao_set_64" else opt66
            best = max(vals.values())
            if int(budget) in table:
                rec.update(value=table[int(budget)], proven=True, source="fst-1998")
                if best != table[int(budget)]:
                    rec["note"] = f"best value in the literature logs: {best}"
                assert best <= table[int(budget)], (stem, best)
            else:
                who = sorted(k for k, x in vals.items() if x == best)
                rec.update(
                    value=best, proven=False, source="op-logs", note="reported by " + ", ".join(who)
                )
        out["op"][stem] = rec

# TOP
chao = {}
for line in text_lines(f"{B}/top/chaoResults.txt"):
    t = line.split()
    if len(t) == 2:
        chao[t[0].removesuffix(".txt")] = int(float(t[1]))
for f in sorted(glob.glob(f"{B}/top/Set_*/*.txt")):
    stem = os.path.basename(f)[:-4]
    rows = rows_of(f)
    n, m, tmax = int(rows[0][1]), int(rows[1][1]), float(rows[2][1])
    out["top"][stem] = {
        "value": chao[stem],
        "proven": False,
        "source": "chao-top-1996",
        "n": n,
        "m": m,
        "tmax": tmax,
    }
assert len(out["top"]) == len(chao)


# OPTW
def optw_facts(path):
    rows = rows_of(path)
    return {"vertices": len(rows) - 2, "tmax": float(rows[2][-1])}


z = zipfile.ZipFile(f"{B}/optw/righini_salani_results/Solomon_OPT.zip")
sol = collections.defaultdict(list)
for info in z.infolist():
    if info.is_dir():
        continue
    name = os.path.basename(info.filename).split("_")[0]
    sol[name].append((os.path.basename(info.filename), z.read(info).decode()))
for name, files in sorted(sol.items()):
    rec = optw_facts(f"{B}/optw/solomon_100/{name}.txt")
    finished = set()
    feasible = {}
    for fn, txt in files:
        for m in re.finditer(rf"^\S*{name}_100 & (\d+) &", txt, re.M):
            finished.add(int(m.group(1)))
        for m in re.finditer(r"Best Feasible Path\s*\nPrize:(\d+)", txt):
            feasible[fn] = max(feasible.get(fn, 0), int(m.group(1)))
    if finished:
        assert len(finished) == 1, (name, finished)
        rec.update(value=finished.pop(), proven=True, source="rs-2009")
    else:
        best = max(feasible.values())
        rec.update(
            value=best,
            proven=False,
            source="rs-2009",
            note="no run finished: best feasible path found ("
            + ", ".join(f"{k}: {v}" for k, v in sorted(feasible.items()))
            + ")",
        )
    out["optw"][name] = rec
z = zipfile.ZipFile(f"{B}/optw/righini_salani_results/Cordeau_OPT.zip")
cor = collections.defaultdict(set)
for info in z.infolist():
    if info.is_dir():
        continue
    name = os.path.basename(info.filename).split(".")[0]
    txt = z.read(info).decode()
    cor[name]
    for m in re.finditer(rf"^{name}\.OUT & (\d+) &", txt, re.M):
        cor[name].add(int(m.group(1)))
for name in sorted(cor):
    rec = optw_facts(f"{B}/optw/cordeau_pr01_10/{name}.txt")
    if cor[name]:
        assert len(cor[name]) == 1
        rec.update(value=cor[name].pop(), proven=True, source="rs-2009")
    else:
        rec.update(
            value=None,
            proven=False,
            source="rs-2009",
            note="no run finished in the results files (runs stopped at the 2-hour limit or with ERROR:11); no value published",
        )
    out["optw"][name] = rec

path = os.path.join(B, "..", "..", "daitn_opt", "drrt", "converters", "known_values.json")
with open(path, "w") as fh:
    fh.write("{\n")
    keys = list(out)
    for i, fam in enumerate(keys):
        fh.write(f'  "{fam}": {{\n')
        items = list(out[fam].items())
        for j, (k, v) in enumerate(items):
            fh.write(
                f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                + ("," if j < len(items) - 1 else "")
                + "\n"
            )
        fh.write("  }" + ("," if i < len(keys) - 1 else "") + "\n")
    fh.write("}\n")
json.loads("\n".join(text_lines(path)))
print({k: len(v) for k, v in out.items()})
