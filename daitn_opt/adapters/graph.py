"""Decisions from the user's own topology: a networkx graph, or plain arrays.

A simulator that already holds its network as a :class:`networkx.Graph` should not have to write a
DRRT instance file to ask daitn-opt for a route. :func:`snapshot_from_graph` reads the graph's node
and edge attributes, named as in the snapshot schema (``daitn-opt schema``), into a validated
:class:`~daitn_opt.drrt.Snapshot`; :func:`route_from_graph` adds a training request, builds the
request's MTRCE problem and returns the route chosen by :func:`daitn_opt.solve`, checked by the
independent checker. :func:`route_from_arrays` does the same for a simulator that only has a
travel-time matrix and per-node service times and utilities.

Node attributes (the graph's node key, as a string, is the node id):

- ``kind``: ``"data"`` (default), ``"compute"``, ``"mpvu"``, ``"user"`` or ``"mdfp"``;
- every field of the schema's node: ``up``, ``trust``, ``windows`` (a list of ``{"start",
  "end"}`` or ``(start, end)`` pairs), ``position`` (``{"x", "y"}`` or ``(x, y)``), ``compute``,
  ``datasets``, ``facility``, ``demands``, ``eval_samples``, ...;
- shortcuts: a data node without ``datasets`` may give one dataset's fields flat (``modality``,
  ``task``, ``samples``, ``quality``, ``age_days``, ``labels``, ``may_leave``), and any node may
  give its compute flat (``gflops``, ``memory_gb``, ``slots``, ``cost_per_hour``, ``overhead_s``).
  A data node without compute attributes trains with the schema's default compute
  (100 GFLOP/s); give ``compute=None`` for a node whose data cannot be trained on.

Edge attributes: ``latency`` (seconds, required), ``bandwidth`` (Mbit/s, default 1000),
``reliability``, ``cost_per_gb``, ``up``. A :class:`networkx.DiGraph` gives directed links.

Whatever is missing or wrong is an :class:`~daitn_opt.errors.InputError` naming the graph's node or
edge and the attribute, e.g. ``graph.edges['a', 'b'].latency = None: missing ...``.

Example
-------
>>> import networkx as nx
>>> from daitn_opt.adapters.graph import route_from_graph
>>> g = nx.Graph()
>>> g.add_node("owner", kind="user")
>>> g.add_node("lab", kind="mpvu")
>>> for name, n in [("a", 400), ("b", 300), ("c", 200)]:
...     g.add_node(name, modality="tabular", task="cancer", samples=n, gflops=50.0)
>>> g.add_edges_from([("owner", x) for x in "abc"], latency=0.5)
>>> g.add_edges_from([("a", "b"), ("b", "c"), ("c", "lab"), ("a", "lab")], latency=0.5)
>>> request = {"id": "r1", "owner": "owner", "modality": "tabular", "task": "cancer",
...            "deadline": 60.0}
>>> decision = route_from_graph(g, request, solver="highs", time_limit=10)
>>> decision.route[0], decision.route[-1], sorted(decision.route[1:-1])
('owner', 'lab', ['a', 'b', 'c'])
>>> decision.status, decision.checked
('optimal', True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from ..drrt import Instance, Link, Snapshot, TrainingRequest
from ..drrt.instance import validation_to_input_error
from ..drrt.snapshot import NODE_KINDS, Compute, Dataset, Node
from ..errors import InputError
from ..result import Result

DATASET_FIELDS = tuple(Dataset.model_fields)
"""Flat node attributes that make up a data node's single dataset."""
COMPUTE_FIELDS = tuple(Compute.model_fields)
"""Flat node attributes that make up a node's compute."""
_NODE = TypeAdapter(Node)


@dataclass(frozen=True)
class RouteDecision:
    """The route daitn-opt chose, with what it was solved from.

    Attributes
    ----------
    route
        Node ids in visiting order, from the start (the owner) to the end (the MPVU or owner);
        empty when the solver found no route.
    result
        The solver's :class:`~daitn_opt.Result` (status, objective, bound, arrivals, ...).
    problem
        The MTRCE problem that was solved (its ``ids`` index the arrays).
    checked
        Whether the independent checker accepted the route.
    """

    route: list[str]
    result: Result
    problem: Any
    checked: bool

    @property
    def status(self) -> str:
        return str(self.result.status)

    @property
    def objective(self) -> float | None:
        return self.result.objective


def _plain(value: Any) -> Any:
    """numpy scalars and tuples as the JSON-like values the strict schema accepts."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _pair(value: Any, names: tuple[str, str]) -> Any:
    """``(a, b)`` as ``{names[0]: a, names[1]: b}``; a mapping as it is."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return dict(zip(names, _plain(value), strict=True))
    return _plain(value)


def _node_document(key: Any, attrs: Mapping[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in attrs.items() if k not in DATASET_FIELDS + COMPUTE_FIELDS}
    doc = {"id": str(key), "kind": "data", **_plain(doc)}
    if doc["kind"] not in NODE_KINDS:
        raise InputError(
            f"graph.nodes[{key!r}].kind",
            doc["kind"],
            f"unknown node kind; expected one of {NODE_KINDS}",
        )
    flat_compute = {k: _plain(attrs[k]) for k in COMPUTE_FIELDS if k in attrs}
    if flat_compute:
        if attrs.get("compute") is not None:
            raise InputError(
                f"graph.nodes[{key!r}].compute", "{...}", "given both nested and flat compute"
            )
        doc["compute"] = flat_compute
    elif doc["kind"] == "data" and "compute" not in attrs:
        doc["compute"] = {}  # the schema's default compute: a data node trains where it is
    flat_data = {k: _plain(attrs[k]) for k in DATASET_FIELDS if k in attrs}
    if flat_data:
        if doc["kind"] != "data" or "datasets" in attrs:
            raise InputError(
                f"graph.nodes[{key!r}].{next(iter(flat_data))}",
                next(iter(flat_data.values())),
                "dataset fields belong to a data node without a 'datasets' attribute",
            )
        for required in ("modality", "task", "samples"):
            if required not in flat_data:
                raise InputError(
                    f"graph.nodes[{key!r}].{required}",
                    None,
                    "missing: a data node names its data's modality, task and samples",
                )
        doc["datasets"] = [flat_data]
    if "windows" in doc and doc["windows"] is not None:
        doc["windows"] = [_pair(w, ("start", "end")) for w in attrs["windows"]]
    if "position" in doc and doc["position"] is not None:
        doc["position"] = _pair(attrs["position"], ("x", "y"))
    return doc


def _validated(document: dict[str, Any], where: str, validate: Any) -> Any:
    try:
        return validate(document)
    except ValidationError as exc:
        err = validation_to_input_error(exc)
        head, _, rest = err.field.partition(".")
        field = rest if head in NODE_KINDS and rest else err.field  # the union's tag, not a field
        raise InputError(f"{where}.{field}", err.value, err.reason) from None


def snapshot_from_graph(graph: Any, *, name: str = "graph", time: float = 0.0) -> Snapshot:
    """The validated DRRT snapshot of a networkx graph (attributes: see the module docstring).

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        Nodes with schema attributes; every edge carries ``latency``.
    name, time
        The snapshot's name and clock.

    Raises
    ------
    InputError
        Not a graph, an empty graph, a missing or invalid attribute (named by node or edge).
    """
    if not hasattr(graph, "nodes") or not hasattr(graph, "edges"):
        raise InputError("graph", type(graph).__name__, "expected a networkx Graph or DiGraph")
    if graph.number_of_nodes() == 0:
        raise InputError("graph", "0 nodes", "the graph has no nodes")
    nodes = [
        _validated(_node_document(key, attrs), f"graph.nodes[{key!r}]", _NODE.validate_python)
        for key, attrs in graph.nodes(data=True)
    ]
    directed = bool(graph.is_directed())
    links = []
    for u, v, attrs in graph.edges(data=True):
        where = f"graph.edges[{u!r}, {v!r}]"
        if attrs.get("latency") is None:
            raise InputError(f"{where}.latency", None, "missing: seconds from one end to the other")
        doc = {"source": str(u), "target": str(v), "directed": directed, **_plain(dict(attrs))}
        links.append(_validated(doc, where, Link.model_validate))
    try:
        return Snapshot(name=name, time=float(time), nodes=nodes, links=links)
    except ValidationError as exc:
        raise validation_to_input_error(exc) from None


def _request(request: TrainingRequest | Mapping[str, Any]) -> TrainingRequest:
    if isinstance(request, TrainingRequest):
        return request
    if not isinstance(request, Mapping):
        raise InputError("request", request, "expected a TrainingRequest or a mapping")
    return _validated(_plain(dict(request)), "request", TrainingRequest.model_validate)


def _decide(problem: Any, solver: str | None, time_limit: float, seed: int) -> RouteDecision:
    from .. import mtrce
    from ..registry import solve

    name = solver or mtrce.default_solver(problem)
    result = solve(problem, name, time_limit=time_limit, seed=seed)
    routes = (result.solution or {}).get("routes") or [[]]
    checked = result.solution is not None and mtrce.check(problem, result.solution).ok
    return RouteDecision(list(routes[0]), result, problem, bool(checked))


def route_from_graph(
    graph: Any,
    request: TrainingRequest | Mapping[str, Any],
    *,
    solver: str | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
) -> RouteDecision:
    """The MTRCE route of ``request`` over the network ``graph``.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        The topology with schema attributes (module docstring).
    request : TrainingRequest or mapping
        The training request, as the schema's ``requests[]`` entry (``id``, ``owner``,
        ``modality``, ``task``, optional ``deadline``, ``min_quality``, ``objective``, ...).
    solver
        Any registered MTRCE solver (``daitn-opt solvers``); None: the default for the objective.
    time_limit, seed
        As for :func:`daitn_opt.solve`.

    Returns
    -------
    RouteDecision
        The route (node ids), the solver's result, the problem and the checker's verdict.
    """
    from .. import mtrce

    snapshot = snapshot_from_graph(graph)
    req = _request(request)
    try:
        instance = Instance(name=snapshot.name, snapshot=snapshot, requests=[req])
    except ValidationError as exc:
        raise validation_to_input_error(exc) from None
    return _decide(mtrce.from_instance(instance, req.id), solver, time_limit, seed)


def route_from_arrays(
    travel: Any,
    service: Any,
    utility: Any,
    *,
    ids: Sequence[str] | None = None,
    start: int = 0,
    end: int | None = None,
    deadline: float = np.inf,
    solver: str | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
) -> RouteDecision:
    """The MTRCE route over plain arrays: no graph, no snapshot.

    Parameters
    ----------
    travel : (n, n) array
        Travel time from node i to node j (``inf`` where impossible).
    service, utility : (n,) arrays
        Training time at each node and the utility of visiting it.
    ids
        Node names (default ``"0".."n-1"``).
    start, end
        Indices of where the model starts and must end (``end`` defaults to ``start``).
    deadline
        Seconds the route may take in total.
    solver, time_limit, seed
        As for :func:`route_from_graph`.

    Examples
    --------
    >>> from daitn_opt.adapters.graph import route_from_arrays
    >>> travel = [[0, 1, 1, 9], [1, 0, 1, 1], [1, 1, 0, 1], [9, 1, 1, 0]]
    >>> d = route_from_arrays(travel, [0, 2, 2, 0], [0, 5, 3, 0], ids="sabe", start=0, end=3,
    ...                       deadline=5, solver="highs")
    >>> d.route, d.objective
    (['s', 'a', 'e'], 5.0)
    """
    from ..mtrce import Problem

    n = len(service) if hasattr(service, "__len__") else 0
    names = [str(i) for i in range(n)] if ids is None else [str(x) for x in ids]
    problem = Problem(
        ids=names,
        start=int(start),
        end=int(start if end is None else end),
        travel=travel,
        service=service,
        utility=utility,
        deadline=float(deadline),
    )
    return _decide(problem, solver, time_limit, seed)
