"""Snapshot and instance files: JSON round trips, the published schema, and every rejection."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from daitn_opt.drrt.instance import (
    Instance,
    dump_instance,
    instance_schema,
    load_instance,
    parse_instance,
    save_instance,
)
from daitn_opt.drrt.snapshot import DataNode, Snapshot
from daitn_opt.errors import InputError

SHIPPED = [
    "healthcare-small.json",
    "healthcare-medium.json",
    "healthcare-large.json",
    "rgg-100.json",
    "rgg-2000.json",
]

VALID = {
    "name": "tiny",
    "snapshot": {
        "nodes": [
            {"id": "o", "kind": "user", "demands": [{"model": "m", "rate": 1.0, "slo_ms": 50.0}]},
            {"id": "v", "kind": "mpvu", "eval_samples": 10},
            {
                "id": "d",
                "kind": "data",
                "compute": {"gflops": 50.0, "memory_gb": 8.0},
                "datasets": [
                    {
                        "modality": "tabular",
                        "task": "t",
                        "samples": 3,
                        "quality": 0.9,
                        "labels": {"0": 1, "1": 2},
                    }
                ],
                "windows": [{"start": 0.0, "end": 10.0}],
            },
            {"id": "c", "kind": "compute", "compute": {"gflops": 10.0}},
            {"id": "f", "kind": "mdfp", "facility": {"memory_gb": 16.0, "throughput": 5.0}},
        ],
        "links": [
            {"source": "o", "target": "d", "latency": 0.01},
            {"source": "d", "target": "v", "latency": 0.02, "bandwidth": 50.0},
            {"source": "c", "target": "f", "latency": 0.0, "directed": True},
        ],
    },
    "requests": [{"id": "r", "owner": "o", "modality": "tabular", "task": "t"}],
    "models": [{"id": "m", "memory_gb": 1.0, "service_ms": 5.0}],
}


def mutated(path: list, value=None, delete: bool = False) -> dict:
    doc = copy.deepcopy(VALID)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


def test_valid_document_parses_with_every_node_kind():
    """The reference document holds one node of each kind and parses."""
    inst = parse_instance(VALID)
    assert sorted(n.kind for n in inst.snapshot.nodes) == sorted(
        ["user", "mpvu", "data", "compute", "mdfp"]
    )
    assert inst.snapshot.index()["d"] == 2
    assert isinstance(inst.snapshot.node("d"), DataNode)
    with pytest.raises(KeyError):
        inst.snapshot.node("zz")


N, L = ["snapshot", "nodes"], ["snapshot", "links"]


INVALID = [
    ([*L, 0, "target"], "zz", "snapshot.links[0].target", "zz"),
    ([*L, 1, "source"], "nowhere", "snapshot.links[1].source", "nowhere"),
    ([*N, 3, "id"], "d", "snapshot.nodes[3].id", "d"),
    ([*N, 2, "compute", "memory_gb"], -1.0, "snapshot.nodes[2].compute.memory_gb", -1.0),
    ([*N, 2, "compute", "gflops"], 0.0, "snapshot.nodes[2].compute.gflops", 0.0),
    ([*N, 2, "compute", "slots"], -2, "snapshot.nodes[2].compute.slots", -2),
    ([*N, 4, "facility", "throughput"], -5.0, "snapshot.nodes[4].facility.throughput", -5.0),
    ([*N, 1, "eval_throughput"], -1.0, "snapshot.nodes[1].eval_throughput", -1.0),
    ([*N, 2, "datasets", 0, "quality"], 1.5, "snapshot.nodes[2].datasets[0].quality", 1.5),
    ([*N, 2, "datasets", 0, "quality"], -0.1, "snapshot.nodes[2].datasets[0].quality", -0.1),
    ([*N, 2, "datasets", 0, "samples"], 4, "snapshot.nodes[2].datasets[0].labels", "{...}"),
    ([*N, 2, "datasets", 0, "samples"], -4, "snapshot.nodes[2].datasets[0].samples", -4),
    ([*N, 2, "trust"], 2.0, "snapshot.nodes[2].trust", 2.0),
    ([*N, 2, "kind"], "router", "snapshot.nodes[2].kind", "router"),
    ([*N, 2, "windows", 0, "end"], -1.0, "snapshot.nodes[2].windows[0].end", -1.0),
    ([*N, 0, "demands", 0, "slo_ms"], 0.0, "snapshot.nodes[0].demands[0].slo_ms", 0.0),
    ([*N, 0, "demands", 0, "model"], "q", "snapshot.nodes[0].demands[0].model", "q"),
    ([*L, 0, "latency"], -0.5, "snapshot.links[0].latency", -0.5),
    ([*L, 0, "latency"], float("inf"), "snapshot.links[0].latency", float("inf")),
    ([*L, 0, "bandwidth"], 0.0, "snapshot.links[0].bandwidth", 0.0),
    ([*L, 0, "reliability"], 1.2, "snapshot.links[0].reliability", 1.2),
    ([*L, 0, "target"], "o", "snapshot.links[0].target", "o"),
    (["requests", 0, "owner"], "ghost", "requests[0].owner", "ghost"),
    (["requests", 0, "epochs"], 0, "requests[0].epochs", 0),
    (["format"], "other", "format", "other"),
]
"""(path, value, field named, value shown) of an invalid document."""


@pytest.mark.parametrize(("path", "value", "field", "shown"), INVALID)
def test_invalid_field_is_named_with_its_value(path, value, field, shown):
    """Every invalid value raises one InputError naming the exact field and the value."""
    with pytest.raises(InputError) as err:
        parse_instance(mutated(path, value))
    assert err.value.field == field
    assert err.value.value == shown


@pytest.mark.parametrize(("path", "value", "field", "shown"), INVALID)
def test_loading_a_file_names_the_same_field_and_value(tmp_path, path, value, field, shown):
    """Loading a file names the field and value as parsing the document does."""
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(mutated(path, value)))
    with pytest.raises(InputError) as err:
        load_instance(file)
    assert (err.value.field, err.value.value) == (field, shown)


def test_loading_text_equals_parsing_the_decoded_document(tmp_path, instances_dir):
    """Loading a file builds the instance parsing its document builds; bad JSON is named."""
    for name in ("healthcare-small.json", "rgg-100.json"):
        path = instances_dir / name
        assert load_instance(path) == parse_instance(json.loads(path.read_text()))
    file = tmp_path / "v.json"
    file.write_text(json.dumps(VALID))
    assert load_instance(file) == parse_instance(copy.deepcopy(VALID))
    file.write_text('{"snapshot": [1,')
    with pytest.raises(InputError, match="malformed JSON at line 1"):
        load_instance(file)


def test_window_ending_before_it_starts_is_rejected():
    """A window [5, 1] is named by its end."""
    with pytest.raises(InputError) as err:
        parse_instance(mutated([*N, 2, "windows"], [{"start": 5.0, "end": 1.0}]))
    assert err.value.field == "snapshot.nodes[2].windows[0].end"
    assert "before start 5" in err.value.reason


def test_missing_kind_unknown_field_and_missing_field_are_rejected():
    """A node without kind, an unknown attribute and a missing required field name the place."""
    with pytest.raises(InputError) as err:
        parse_instance(mutated([*N, 2, "kind"], delete=True))
    assert err.value.field == "snapshot.nodes[2].kind" and "missing" in err.value.reason
    with pytest.raises(InputError) as err:
        parse_instance(mutated([*N, 2, "colour"], "red"))
    assert err.value.field == "snapshot.nodes[2].colour"
    with pytest.raises(InputError) as err:
        parse_instance(mutated([*L, 0, "latency"], delete=True))
    assert err.value.field == "snapshot.links[0].latency" and "required" in err.value.reason.lower()


def test_duplicate_request_and_non_object_document_are_rejected():
    """A second request with the same id, or a JSON array as the document."""
    doc = copy.deepcopy(VALID)
    doc["requests"].append(doc["requests"][0])
    with pytest.raises(InputError) as err:
        parse_instance(doc)
    assert (err.value.field, err.value.value) == ("requests[1].id", "r")
    with pytest.raises(InputError) as err:
        parse_instance([VALID])
    assert err.value.value == "list"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_instances_round_trip_through_json(instances_dir, name):
    """load -> dump -> parse gives an equal instance and the same text."""
    inst = load_instance(instances_dir / name)
    text = dump_instance(inst)
    again = parse_instance(json.loads(text))
    assert again == inst
    assert dump_instance(again) == text


def test_save_and_load_preserve_every_field(tmp_path):
    """A file written by save_instance reads back equal."""
    inst = parse_instance(VALID)
    path = tmp_path / "x.json"
    save_instance(inst, path)
    assert load_instance(path) == inst


def test_replace_validates_the_copy():
    """Snapshot.replace returns a validated copy and rejects a dangling link."""
    snap = parse_instance(VALID).snapshot
    fewer = snap.replace(links=snap.links[:1])
    assert fewer.num_links == 1 and snap.num_links == 3
    with pytest.raises(ValueError, match="not a node id"):
        snap.replace(nodes=snap.nodes[1:])


@pytest.fixture(scope="module")
def validator():
    schema = instance_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize(
    "name",
    [n if n != "rgg-2000.json" else pytest.param(n, marks=pytest.mark.slow) for n in SHIPPED],
)
def test_published_schema_validates_shipped_instances(validator, instances_dir, name):
    """Every shipped instance is valid under the published JSON Schema."""
    doc = json.loads((instances_dir / name).read_text())
    errors = list(validator.iter_errors(doc))
    assert errors == []


def test_published_schema_rejects_what_the_model_rejects(validator):
    """Field-level errors are visible to schema users too."""
    assert validator.is_valid(VALID)
    for path, value in [
        ([*N, 2, "kind"], "router"),
        ([*N, 2, "datasets", 0, "quality"], 1.5),
        ([*L, 0, "latency"], -1.0),
        ([*N, 2, "colour"], "red"),
    ]:
        assert not validator.is_valid(mutated(path, value))


def test_instance_model_equality_is_by_value():
    """Two parses of the same document are equal; a change makes them differ."""
    assert Instance.model_validate(VALID) == parse_instance(copy.deepcopy(VALID))
    other = parse_instance(mutated(["name"], "other"))
    assert other != parse_instance(VALID)
    assert isinstance(other.snapshot, Snapshot)
