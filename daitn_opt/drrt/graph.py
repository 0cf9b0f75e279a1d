"""Conversion between snapshots and networkx graphs, for users of other simulators.

:func:`to_networkx` gives a ``networkx.MultiDiGraph``: one graph node per snapshot node with its
attributes (``kind`` and every field of the node model), and one edge per link direction (an
undirected link becomes two edges sharing a ``link`` index). :func:`from_networkx` reverses it, and
also accepts plain ``Graph``/``DiGraph`` topologies from other tools as long as node attributes
carry at least ``kind`` (and kind-specific fields) and edges carry ``latency``.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
from pydantic import ValidationError

from .instance import validation_to_input_error
from .snapshot import Snapshot


def to_networkx(snapshot: Snapshot) -> nx.MultiDiGraph:
    """The snapshot as a ``MultiDiGraph`` (see the module docstring for the layout)."""
    g = nx.MultiDiGraph(name=snapshot.name, time=snapshot.time, version=snapshot.version)
    for node in snapshot.nodes:
        attrs = node.model_dump(mode="json", exclude_none=True)
        node_id = attrs.pop("id")
        g.add_node(node_id, **attrs)
    for k, link in enumerate(snapshot.links):
        attrs = link.model_dump(mode="json")
        src, dst = attrs.pop("source"), attrs.pop("target")
        g.add_edge(src, dst, key=k, link=k, **attrs)
        if not link.directed:
            g.add_edge(dst, src, key=k, link=k, reverse=True, **attrs)
    return g


def from_networkx(graph: nx.Graph, name: str | None = None) -> Snapshot:
    """Build a validated :class:`Snapshot` from a networkx graph.

    Edges of a graph made by :func:`to_networkx` are folded back into their links; in other
    graphs, each edge of an undirected graph becomes an undirected link and each edge of a directed
    graph a directed link.

    Raises
    ------
    InputError
        When an attribute is missing or invalid; the message names the node or edge.
    """
    nodes: list[dict[str, Any]] = []
    for node_id, attrs in graph.nodes(data=True):
        nodes.append({"id": str(node_id), **attrs})
    links: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    directed_graph = graph.is_directed()
    if graph.is_multigraph():
        edges = graph.edges(data=True, keys=True)
    else:
        edges = ((u, v, None, d) for u, v, d in graph.edges(data=True))
    for u, v, _key, attrs in edges:
        attrs = dict(attrs)
        index = attrs.pop("link", None)
        reverse = attrs.pop("reverse", False)
        if index is not None:
            if index in seen or reverse:
                continue
            seen.add(index)
        elif "directed" not in attrs:
            attrs["directed"] = directed_graph
        order = index if index is not None else len(links) + graph.number_of_edges()
        links.append((order, {"source": str(u), "target": str(v), **attrs}))
    links.sort(key=lambda item: item[0])
    data = {
        "name": name or graph.graph.get("name") or "snapshot",
        "time": graph.graph.get("time", 0.0),
        "nodes": nodes,
        "links": [link for _, link in links],
    }
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        raise validation_to_input_error(exc) from None
