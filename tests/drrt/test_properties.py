"""Property tests: random valid snapshots round-trip without loss; mutated ones are rejected.

Hypothesis draws snapshots over every node kind (with datasets, label histograms, compute,
windows, demands, facilities) and links (directed, down, parallel), then checks that the JSON
and networkx round trips return an equal snapshot, and that each kind of corruption raises an
:class:`InputError` whose ``field`` names the corrupted place.
"""

from __future__ import annotations

import json

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daitn_opt.drrt.graph import from_networkx, to_networkx
from daitn_opt.drrt.instance import Instance, dump_instance, parse_instance
from daitn_opt.drrt.snapshot import NODE_KINDS
from daitn_opt.errors import InputError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ids_st = st.lists(
    st.text(alphabet="abcdefxyz0123456789-_.", min_size=1, max_size=6),
    min_size=1,
    max_size=10,
    unique=True,
)
frac = st.floats(0.0, 1.0, allow_nan=False)
nonneg = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)
coordinate = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def windows_st(draw):
    out = []
    for _ in range(draw(st.integers(0, 2))):
        start = draw(nonneg)
        out.append({"start": start, "end": start + draw(nonneg)})
    return out


@st.composite
def dataset_st(draw):
    doc = {
        "modality": draw(st.sampled_from(["tabular", "image", "text"])),
        "task": draw(st.sampled_from(["breast-cancer", "digits", "t"])),
        "quality": draw(frac),
        "age_days": draw(nonneg),
        "may_leave": draw(st.booleans()),
    }
    if draw(st.booleans()):
        labels = draw(st.dictionaries(st.sampled_from("0123456789"), st.integers(0, 500)))
        doc["labels"] = labels
        doc["samples"] = sum(labels.values())
    else:
        doc["samples"] = draw(st.integers(0, 10_000))
    return doc


compute_st = st.fixed_dictionaries(
    {
        "gflops": positive,
        "memory_gb": nonneg,
        "slots": st.integers(0, 16),
        "cost_per_hour": nonneg,
        "overhead_s": nonneg,
    }
)


@st.composite
def node_st(draw, node_id: str):
    kind = draw(st.sampled_from(NODE_KINDS))
    doc = {
        "id": node_id,
        "kind": kind,
        "up": draw(st.booleans()),
        "trust": draw(frac),
        "windows": draw(windows_st()),
    }
    if draw(st.booleans()):
        doc["name"] = draw(st.text(max_size=10))
    if draw(st.booleans()):
        doc["position"] = {"x": draw(coordinate), "y": draw(coordinate)}
    if kind in ("data", "compute") or draw(st.booleans()):
        doc["compute"] = draw(compute_st)
    if kind == "data":
        doc["datasets"] = draw(st.lists(dataset_st(), max_size=3))
    elif kind == "mpvu":
        doc["eval_throughput"] = draw(positive)
        doc["eval_samples"] = draw(st.integers(0, 10_000))
    elif kind == "user":
        doc["demands"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "model": st.sampled_from(["m1", "m2"]),
                        "rate": nonneg,
                        "slo_ms": positive,
                        "value": nonneg,
                    }
                ),
                max_size=2,
            )
        )
    elif kind == "mdfp":
        doc["facility"] = {
            "memory_gb": draw(nonneg),
            "throughput": draw(nonneg),
            "cost_per_hour": draw(nonneg),
            "max_utilization": draw(st.floats(0.01, 1.0)),
        }
    return doc


@st.composite
def snapshot_doc(draw, min_nodes: int = 1):
    ids = draw(ids_st.filter(lambda xs: len(xs) >= min_nodes))
    nodes = [draw(node_st(i)) for i in ids]
    links = []
    if len(ids) >= 2:
        for _ in range(draw(st.integers(0, 2 * len(ids)))):
            u, v = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
            links.append(
                {
                    "source": u,
                    "target": v,
                    "latency": draw(nonneg),
                    "bandwidth": draw(positive),
                    "reliability": draw(frac),
                    "cost_per_gb": draw(nonneg),
                    "up": draw(st.booleans()),
                    "directed": draw(st.booleans()),
                }
            )
    return {"name": draw(st.text(min_size=1, max_size=8)), "time": draw(nonneg), "nodes": nodes,
            "links": links}  # fmt: skip


def instance_doc(snap: dict) -> dict:
    return {"name": "prop", "snapshot": snap}


@SETTINGS
@given(snapshot_doc())
def test_json_round_trip_is_lossless(doc):
    """parse(dump(parse(doc))) equals parse(doc), and dumping again gives the same text."""
    inst = parse_instance(instance_doc(doc))
    text = dump_instance(inst)
    again = parse_instance(json.loads(text))
    assert again == inst
    assert dump_instance(again) == text


@SETTINGS
@given(snapshot_doc())
def test_networkx_round_trip_is_lossless(doc):
    """from_networkx(to_networkx(s)) equals s, edge for edge and attribute for attribute."""
    snap = parse_instance(instance_doc(doc)).snapshot
    graph = to_networkx(snap)
    assert graph.number_of_nodes() == snap.num_nodes
    assert graph.number_of_edges() == sum(1 if lk.directed else 2 for lk in snap.links)
    assert from_networkx(graph) == snap


def _link_to_unknown(doc, data):
    if not doc["links"]:
        return None
    k = data.draw(st.integers(0, len(doc["links"]) - 1))
    end = data.draw(st.sampled_from(["source", "target"]))
    doc["links"][k][end] = "no-such-node!"
    return f"snapshot.links[{k}].{end}", "no-such-node!"


def _duplicate_id(doc, data):
    if len(doc["nodes"]) < 2:
        return None
    i, j = sorted(data.draw(st.lists(st.integers(0, len(doc["nodes"]) - 1), min_size=2,
                                     max_size=2, unique=True)))  # fmt: skip
    doc["nodes"][j]["id"] = doc["nodes"][i]["id"]
    return f"snapshot.nodes[{j}].id", doc["nodes"][i]["id"]


def _negative_capacity(doc, data):
    i = data.draw(st.integers(0, len(doc["nodes"]) - 1))
    field = data.draw(st.sampled_from(["memory_gb", "cost_per_hour", "slots", "gflops"]))
    value = -data.draw(st.integers(1, 100))
    doc["nodes"][i]["compute"] = {"gflops": 1.0, field: value}
    return f"snapshot.nodes[{i}].compute.{field}", value


def _quality_out_of_range(doc, data):
    i = data.draw(st.integers(0, len(doc["nodes"]) - 1))
    value = data.draw(st.sampled_from([-0.5, 1.0001, 2.0, 100.0]))
    dataset = {"modality": "m", "task": "t", "samples": 1, "quality": value}
    doc["nodes"][i] = {"id": doc["nodes"][i]["id"], "kind": "data", "datasets": [dataset]}
    return f"snapshot.nodes[{i}].datasets[0].quality", value


def _unknown_kind(doc, data):
    i = data.draw(st.integers(0, len(doc["nodes"]) - 1))
    kind = data.draw(st.sampled_from(["router", "Data", "", "switch"]))
    doc["nodes"][i]["kind"] = kind
    return f"snapshot.nodes[{i}].kind", kind


def _histogram_off(doc, data):
    i = data.draw(st.integers(0, len(doc["nodes"]) - 1))
    count = data.draw(st.integers(0, 50))
    extra = data.draw(st.integers(1, 5))
    dataset = {"modality": "m", "task": "t", "samples": count + extra, "labels": {"a": count}}
    doc["nodes"][i] = {"id": doc["nodes"][i]["id"], "kind": "data", "datasets": [dataset]}
    return f"snapshot.nodes[{i}].datasets[0].labels", "{...}"


def _negative_latency(doc, data):
    if not doc["links"]:
        return None
    k = data.draw(st.integers(0, len(doc["links"]) - 1))
    doc["links"][k]["latency"] = -1.0
    return f"snapshot.links[{k}].latency", -1.0


MUTATIONS = [
    _link_to_unknown,
    _duplicate_id,
    _negative_capacity,
    _quality_out_of_range,
    _unknown_kind,
    _histogram_off,
    _negative_latency,
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=snapshot_doc(min_nodes=2), data=st.data())
def test_mutation_is_rejected_naming_the_field(mutation, doc, data):
    """Each corruption raises InputError with the corrupted field and its value."""
    # Links of the drawn snapshot stay valid: corrupt a second link list only when there is one.
    expected = mutation(doc, data)
    if expected is None:
        doc["links"] = [{"source": doc["nodes"][0]["id"], "target": doc["nodes"][1]["id"],
                         "latency": 1.0}]  # fmt: skip
        expected = mutation(doc, data)
    field, value = expected
    with pytest.raises(InputError) as err:
        parse_instance(instance_doc(doc))
    assert err.value.field == field
    assert err.value.value == value


@SETTINGS
@given(snapshot_doc(min_nodes=2))
def test_networkx_edge_to_unknown_node_is_rejected(doc):
    """networkx adds an attribute-less node for an edge to a new id: its missing kind is named."""
    graph = to_networkx(parse_instance(instance_doc(doc)).snapshot)
    first = next(iter(graph.nodes))
    graph.add_edge(first, "ghost", latency=1.0)
    with pytest.raises(InputError) as err:
        from_networkx(graph)
    assert err.value.field == f"nodes[{len(doc['nodes'])}].kind"


def test_instance_with_requests_and_models_round_trips():
    """Requests and inference models also survive the JSON round trip (fixed example)."""
    inst = Instance.model_validate(
        {
            "name": "x",
            "snapshot": {"nodes": [{"id": "o", "kind": "user"}]},
            "requests": [
                {
                    "id": "r",
                    "owner": "o",
                    "modality": "m",
                    "task": "t",
                    "target": {"kind": "coverage", "amount": 3},
                    "mode": "federated",
                    "deadline": 5.0,
                }
            ],
            "models": [{"id": "m", "memory_gb": 1.0, "service_ms": 2.0}],
        }
    )
    assert parse_instance(json.loads(dump_instance(inst))) == inst
    assert isinstance(to_networkx(inst.snapshot), nx.MultiDiGraph)
