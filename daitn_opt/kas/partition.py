"""Domains of a snapshot: which Knowledge Autonomous System (K-AS) each node belongs to.

A K-AS is a domain with its own control centre. Two partitions are offered: ``"geography"``
(k-means on node positions, the way operators draw regions) and ``"louvain"`` (networkx
Louvain communities of the up links, merged down to the requested count along the links that
join them most). Both take a seed and return one domain index per snapshot node.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from ..drrt.snapshot import Snapshot
from ..errors import InputError

METHODS = ("geography", "louvain")


def partition(
    snapshot: Snapshot,
    count: int,
    *,
    method: str = "geography",
    seed: int = 0,
    only: Iterable[str] | None = None,
) -> dict[str, int]:
    """Node id -> domain index in ``0..m-1``, ``m <= count`` non-empty domains.

    k-means may leave a centre without nodes, so a geographic partition can have fewer than
    ``count`` domains; the Louvain merge stops at ``count`` or at the communities found.
    ``only`` (node ids) partitions just those nodes, e.g. a capped view's: a corridor of a
    large snapshot would otherwise cross only a few of the domains drawn over all of it.

    Raises
    ------
    InputError
        ``count`` is not in ``1..len(nodes)``, ``method`` is unknown, or a geographic partition
        is asked of a snapshot with a node that has no position.
    """
    if only is not None:
        keep = set(only)
        snapshot = snapshot.model_copy(
            update={
                "nodes": [n for n in snapshot.nodes if n.id in keep],
                "links": [lk for lk in snapshot.links if lk.source in keep and lk.target in keep],
            }
        )
    ids = [node.id for node in snapshot.nodes]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= len(ids):
        raise InputError("domains", count, f"must be an integer in 1..{len(ids)}")
    if method not in METHODS:
        raise InputError("method", method, f"expected one of {', '.join(METHODS)}")
    if count == 1:
        return dict.fromkeys(ids, 0)
    if method == "geography":
        missing = next((n.id for n in snapshot.nodes if n.position is None), None)
        if missing is not None:
            raise InputError("method", method, f"node {missing} has no position: use louvain")
        labels = _kmeans(snapshot, count, seed)
    else:
        labels = _louvain(snapshot, count, seed)
    return dict(zip(ids, _dense(labels), strict=True))


def _kmeans(snapshot: Snapshot, count: int, seed: int) -> np.ndarray:
    from scipy.cluster.vq import kmeans2

    xy = np.array([[n.position.x, n.position.y] for n in snapshot.nodes], dtype=float)  # type: ignore[union-attr]
    # "++" seeding spreads the initial centres; the rng makes the domains reproducible.
    _, labels = kmeans2(xy, count, minit="++", seed=np.random.default_rng(seed))
    return labels


def _louvain(snapshot: Snapshot, count: int, seed: int) -> np.ndarray:
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(n.id for n in snapshot.nodes)
    graph.add_edges_from((lk.source, lk.target) for lk in snapshot.links if lk.up)
    communities = [set(c) for c in nx.community.louvain_communities(graph, seed=seed)]
    where = {v: i for i, c in enumerate(communities) for v in c}
    # Merge the smallest community into the one it shares most links with (any other when it
    # shares none) until ``count`` remain.
    while len(communities) > count:
        small = min(range(len(communities)), key=lambda i: len(communities[i]))
        joins = Counter(where[w] for v in communities[small] for w in graph[v] if where[w] != small)
        into = joins.most_common(1)[0][0] if joins else (small + 1) % len(communities)
        for v in communities[small]:
            where[v] = into
        communities[into] |= communities[small]
        communities[small] = set()
        communities = [c for c in communities if c]
        where = {v: i for i, c in enumerate(communities) for v in c}
    return np.array([where[n.id] for n in snapshot.nodes])


def _dense(labels: np.ndarray) -> list[int]:
    """Relabel to ``0..m-1`` in order of first appearance (k-means may leave a centre empty)."""
    order: dict[int, int] = {}
    return [order.setdefault(int(v), len(order)) for v in labels]
