"""Transfer times and money between the nodes one request can use, never between all nodes.

A view needs ``transfer[i, j]`` only between its own k nodes (the eligible data nodes, the start
and the end), not between all n nodes of the snapshot. This module runs one Dijkstra per view node
over the sparse graph of up links and keeps only the k view columns: memory is O(k^2 + block * n),
never O(n^2). Where numba is installed and no link charges money, the searches are compiled and
run in parallel over sources (:mod:`.shortest_paths`: half the CPU of scipy, on every core);
otherwise ``scipy.sparse.csgraph`` runs them, a block of sources at a time.

Two choices keep the result *identical*, bit for bit, to one Dijkstra per node on the full graph:

- Dijkstra's value at a node is the smallest left-to-right floating-point sum over all paths to it
  (rounding is monotone), so it does not depend on the order of the sources or on how they are
  blocked, and an arc can be dropped when a two-hop detour is shorter by more than any rounding can
  make up (:func:`_drop_dominated`): a random geometric graph loses ~40 % of its arcs and Dijkstra
  ~30 % of its time. Only when links carry no money, since money follows the predecessor tree,
  whose ties an arc's removal could break differently.
- money is summed along each predecessor tree by pointer doubling, the same additions in the same
  order as before, one block of trees at a time, reading per-arc money from the sparse matrix
  instead of a dense n x n copy of it.

For a small group of nodes in a large snapshot (a capped view), each search may also stop at a
bound on its source's time to the rest of the group (:func:`reach_limits`): Dijkstra settles every
node within the bound exactly as it would without one.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from . import shortest_paths

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from .snapshot import Snapshot

BLOCK_CELLS = 2_000_000
"""Dijkstra rows of n distances computed at once: 16 MB of float64 whatever n is (larger blocks
measured no faster)."""


@dataclass(frozen=True)
class LinkWeights:
    """Per-arc seconds and money of one model over the up links of a snapshot (CSR, n x n)."""

    time: csr_matrix
    money: csr_matrix
    has_cost: bool
    """Whether any up link charges money (else every path costs 0)."""

    @property
    def n(self) -> int:
        return self.time.shape[0]


def link_weights(snapshot: Snapshot, size_mb: float) -> LinkWeights:
    """Sparse time and money weights over up links (parallel links: the fastest).

    Hop time is ``latency + 8 * size_mb / bandwidth`` (store and forward). A link touching a node
    that is down carries nothing: a down node neither trains nor forwards.
    """
    from scipy.sparse import csr_matrix  # imported here: scipy is slow to import

    n = snapshot.num_nodes
    table = link_table(snapshot)
    if not len(table.src):
        empty = csr_matrix((n, n))
        return LinkWeights(empty, empty, False)
    src, dst, both = table.src, table.dst, table.both
    time = table.latency + 8.0 * size_mb / table.bandwidth
    # csgraph treats explicit zeros as missing edges: a tiny floor keeps zero-time links.
    time = np.maximum(time, 1e-12)
    if not table.paid:  # the arcs' layout is the snapshot's: only their times differ per view
        arcs = table.arcs(n)
        t = np.minimum.reduceat(time[arcs.link], arcs.first)
        tw = csr_matrix((t, arcs.indices, arcs.indptr), shape=(n, n))
        cw = csr_matrix((np.zeros(len(t)), arcs.indices, arcs.indptr), shape=(n, n))
        tw.has_sorted_indices = cw.has_sorted_indices = True
        return LinkWeights(tw, cw, False)
    rows = np.concatenate([src, dst[both]])
    cols = np.concatenate([dst, src[both]])
    t = np.concatenate([time, time[both]])
    c = np.concatenate([table.cost_per_gb, table.cost_per_gb[both]])
    # Keep the fastest of parallel links: sort by time descending so the last write wins.
    order = np.lexsort((-t, rows, cols))
    rows, cols, t, c = rows[order], cols[order], t[order], c[order]
    key = rows * n + cols
    last = np.r_[key[1:] != key[:-1], True]
    tw = csr_matrix((t[last], (rows[last], cols[last])), shape=(n, n))
    cw = csr_matrix((c[last], (rows[last], cols[last])), shape=(n, n))
    tw.sort_indices()
    cw.sort_indices()
    return LinkWeights(tw, cw, bool(cw.nnz and (c > 0).any()))


@dataclass(frozen=True)
class LinkTable:
    """The up links between up nodes of a snapshot as arrays (snapshot indices, one per link)."""

    src: np.ndarray
    dst: np.ndarray
    latency: np.ndarray
    bandwidth: np.ndarray
    cost_per_gb: np.ndarray
    both: np.ndarray
    """Whether the link goes both ways (not ``directed``)."""

    @property
    def paid(self) -> bool:
        """Whether any link charges money."""
        return bool((self.cost_per_gb > 0).any())

    def arcs(self, n: int) -> ArcLayout:
        """The links as arcs of an n-node CSR graph, laid out once per table."""
        if self._arcs is None:
            object.__setattr__(self, "_arcs", _arc_layout(self.src, self.dst, self.both, n))
        return self._arcs

    _arcs: ArcLayout | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ArcLayout:
    """Arcs (a both-ways link gives two) sorted by tail then head: ``link[first[i]:first[i + 1]]``
    are the links from one tail to one head (parallel links), the CSR arc i of ``indptr``,
    ``indices``."""

    link: np.ndarray
    first: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray


def _arc_layout(src: np.ndarray, dst: np.ndarray, both: np.ndarray, n: int) -> ArcLayout:
    ids = np.arange(len(src))
    rows = np.concatenate([src, dst[both]])
    cols = np.concatenate([dst, src[both]])
    link = np.concatenate([ids, ids[both]])
    order = np.lexsort((cols, rows))
    rows, cols, link = rows[order], cols[order], link[order]
    key = rows * n + cols
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[first], minlength=n), out=indptr[1:])
    return ArcLayout(link, first, indptr, cols[first].astype(np.int32))


_TABLES: dict[int, tuple[weakref.ref, LinkTable]] = {}
"""id(snapshot) -> (a weak reference to it, its table): every view of a snapshot (one per request,
each model size) reads the same links, and reading 800,000 link objects takes seconds."""


def link_table(snapshot: Snapshot) -> LinkTable:
    """The snapshot's usable links as arrays, read once per snapshot (snapshots are frozen)."""
    key = id(snapshot)
    hit = _TABLES.get(key)
    if hit is not None and hit[0]() is snapshot:
        return hit[1]
    table = _read_links(snapshot)
    _TABLES[key] = (weakref.ref(snapshot, lambda _, key=key: _TABLES.pop(key, None)), table)
    return table


def _read_links(snapshot: Snapshot) -> LinkTable:
    links, m = snapshot.links, len(snapshot.links)
    index = snapshot.index()

    def column(name: str, dtype: type) -> np.ndarray:
        return np.fromiter(map(attrgetter(name), links), dtype=dtype, count=m)

    node_up = np.fromiter((node.up for node in snapshot.nodes), dtype=bool)
    src = np.fromiter(map(index.__getitem__, map(attrgetter("source"), links)), np.int64, m)
    dst = np.fromiter(map(index.__getitem__, map(attrgetter("target"), links)), np.int64, m)
    ok = column("up", bool) & node_up[src] & node_up[dst]
    return LinkTable(
        src=src[ok],
        dst=dst[ok],
        latency=column("latency", np.float64)[ok],
        bandwidth=column("bandwidth", np.float64)[ok],
        cost_per_gb=column("cost_per_gb", np.float64)[ok],
        both=~column("directed", bool)[ok],
    )


def distances_from(weights: LinkWeights, source: int) -> np.ndarray:
    """(n,) seconds from ``source`` to every node (inf: unreachable)."""
    from scipy.sparse.csgraph import dijkstra

    if not weights.time.nnz:
        out = np.full(weights.n, np.inf)
        out[source] = 0.0
        return out
    return dijkstra(weights.time, directed=True, indices=source)


def distances_to(weights: LinkWeights, target: int) -> np.ndarray:
    """(n,) seconds from every node to ``target``: Dijkstra on the reversed arcs."""
    reverse = weights.time.T.tocsr()
    return distances_from(LinkWeights(reverse, reverse, False), target)


def reach_limits(weights: LinkWeights, nodes: np.ndarray, hubs: np.ndarray) -> np.ndarray:
    """Per node of ``nodes``, a bound on its time to any other of ``nodes`` (for :func:`pairwise`).

    Going from i to j through a hub h is one way to get there, so ``d(i, j) <= d(i, h) + d(h, j)``
    and ``max_j min_h (d(i, h) + d(h, j))`` bounds row i. Hubs spread over the nodes (``hubs``:
    positions in ``nodes``, e.g. the start, the end and points in between) bring the bound close to
    the farthest node's time, so each search explores little beyond the group. Two Dijkstra runs
    per hub; widened by 1e-9 relative, far beyond the rounding between one path sum and the sum of
    two. Worth it when ``nodes`` are a small group of a large snapshot.
    """
    from scipy.sparse.csgraph import dijkstra

    nodes = np.asarray(nodes, dtype=np.int64)
    k = len(nodes)
    if not weights.time.nnz or not len(hubs):
        return np.full(k, np.inf)
    centres = nodes[np.asarray(hubs, dtype=np.int64)]
    reverse = weights.time.T.tocsr()
    to_hub = dijkstra(reverse, directed=True, indices=centres)[:, nodes]  # d(i, h) as (h, i)
    from_hub = dijkstra(weights.time, directed=True, indices=centres)[:, nodes]  # d(h, j)
    bound = np.empty(k)
    step = max(1, 4_000_000 // (len(centres) * k))
    for lo in range(0, k, step):
        via = to_hub[:, lo : lo + step, None] + from_hub[:, None, :]  # (hub, i, j)
        bound[lo : lo + step] = via.min(axis=0).max(axis=1)
    return bound * (1.0 + 1e-9) + 1e-9


def pairwise(
    weights: LinkWeights, nodes: np.ndarray, limits: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(k, k) shortest-path seconds and summed money per GB between ``nodes`` (snapshot indices).

    ``transfer[a, b]`` is the time from ``nodes[a]`` to ``nodes[b]`` (inf: unreachable); money is
    None when no link charges any (every path then costs 0). ``limits[a]``, when given, bounds
    every finite ``transfer[a, :]``: the search from ``nodes[a]`` stops there (a node nearer than
    the limit gets the same value as without it). Ignored when links charge money, since a
    shorter search could break ties between equal paths differently.
    """
    from scipy.sparse.csgraph import dijkstra  # imported here: scipy is slow to import

    nodes = np.asarray(nodes, dtype=np.int64)
    k, n = len(nodes), weights.n
    if not weights.time.nnz:
        transfer = np.full((k, k), np.inf)
        np.fill_diagonal(transfer, 0.0)
        return transfer, np.zeros((k, k)) if weights.has_cost else None
    # Pruned before the (k, k) result exists, so their work arrays do not add to its peak.
    graph = weights.time if weights.has_cost else _drop_dominated(weights.time)
    # Only a sum over a floored (zero-time) link can be below 1e-9 s: without one, nothing to undo
    # (a pass over the (k, k) matrix and a (k, k) mask saved: 0.03-0.13 s CPU at 7,096 nodes).
    floored = bool(graph.nnz) and float(graph.data.min()) < 1e-9
    if compiled(weights):
        local, place = _relabelled(graph)
        transfer = shortest_paths.group_distances(
            local.indptr, local.indices, local.data, place[nodes], limits
        )
        if floored:
            _unfloor(transfer)
        return transfer, None
    transfer = np.empty((k, k))
    money = np.empty((k, k)) if weights.has_cost else None
    if limits is None or weights.has_cost:
        limits = np.full(k, np.inf)
    order = np.argsort(limits, kind="stable")  # blocks of similar reach
    block = max(1, BLOCK_CELLS // n)
    for lo in range(0, k, block):
        rows = order[lo : lo + block]
        found = dijkstra(
            graph,
            directed=True,
            indices=nodes[rows],
            return_predecessors=weights.has_cost,
            limit=float(limits[rows].max()),
        )
        dist, pred = found if weights.has_cost else (found, None)
        part = dist[:, nodes]
        if floored:
            _unfloor(part)
        transfer[rows] = part
        if money is not None:
            money[rows] = _tree_money(pred, weights.money)[:, nodes]
    return transfer, money


def _relabelled(graph: csr_matrix) -> tuple[csr_matrix, np.ndarray]:
    """``graph`` with its nodes renumbered so that neighbours sit close in memory, and each old
    node's new number (reverse Cuthill-McKee: a breadth-first order).

    A search reads and writes per-node arrays at every arc's head: with the snapshot's order
    (random in space) each is a cache miss once the arrays outgrow the cache; in this order
    most are hits. Measured on the capped view of 100,000 nodes: 6.8 s of searches instead of
    14.2 s, for 0.08 s of renumbering. Values do not depend on node numbers.
    """
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    order = reverse_cuthill_mckee(graph, symmetric_mode=False)
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    local = graph[order][:, order].tocsr()
    local.sort_indices()
    return local, place


def compiled(weights: LinkWeights) -> bool:
    """Whether :func:`pairwise` runs the compiled searches (:mod:`.shortest_paths`) for these
    weights: numba is there and no link charges money (money follows scipy's predecessor trees,
    whose ties another heap would break differently)."""
    return not weights.has_cost and shortest_paths.available()


def _unfloor(times: np.ndarray) -> None:
    """Undo the 1e-12 floor that keeps zero-time links in the graph, in place."""
    tiny = times < 1e-9
    times[tiny] = np.round(times[tiny], 12)


def _tree_money(pred: np.ndarray, money: csr_matrix) -> np.ndarray:
    """Sum of per-arc money along each shortest-path tree, vectorised over sources.

    ``pred[r, v]`` is v's predecessor on the tree of source r (negative at the source and at
    unreachable nodes). Pointer doubling: after step t, ``total[r, v]`` holds the money of the
    last 2^t arcs above v and ``up[r, v]`` the node 2^t levels up, so a tree of depth D takes
    log2(D) passes over the (block, n) arrays instead of one Python step per node.
    """
    n = pred.shape[1]
    cols = np.arange(n)
    has = pred >= 0
    up = np.where(has, pred, cols[None, :])
    total = np.where(has, _arc_values(money, up, np.broadcast_to(cols, up.shape)), 0.0)
    while True:
        above = np.take_along_axis(up, up, axis=1)
        if np.array_equal(above, up):
            return total
        total += np.take_along_axis(total, up, axis=1)
        up = above


def _arc_values(matrix: csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows, cols]`` elementwise from a CSR with sorted indices (0 where no arc)."""
    n = matrix.shape[1]
    arc_rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    keys = arc_rows * n + matrix.indices
    wanted = rows.astype(np.int64) * n + cols
    if not len(keys):
        return np.zeros(wanted.shape)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[at] == wanted, matrix.data[at], 0.0)


PAIR_BLOCK = 500_000
"""Two-hop detours examined at once by :func:`_drop_dominated` (~40 MB of work arrays)."""


def _drop_dominated(time: csr_matrix) -> csr_matrix:
    """``time`` without the arcs u->v beaten by a two-hop detour u->x->v by a safe margin.

    Such an arc is on no shortest path: replacing it by the detour gives every path through it a
    floating-point sum at most as large, because the detour is shorter by more than the rounding of
    any sum can make up. Every path sum is at most the sum of all arc weights W, and each addition
    rounds by at most half an ulp, so a margin of 16 * eps * W covers the few roundings that
    differ between the two sums.
    """

    n = time.shape[0]
    indptr, heads, w = time.indptr, time.indices, time.data
    tails = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    if shortest_paths.available():  # the same sums, compiled: 10x less time at 100,000 nodes
        best = shortest_paths.two_hop_detours(indptr, heads, w)
        return _without(time, tails, best)
    keys = tails * n + heads  # sorted: CSR rows in order, sorted indices within each
    csc = time.tocsc()
    csc.sort_indices()
    in_deg, out_deg = np.diff(csc.indptr), np.diff(indptr)
    pairs = in_deg.astype(np.int64) * out_deg
    best = np.full(len(keys), np.inf)
    ends = np.cumsum(pairs)
    lo = 0
    while lo < n:
        # Middle nodes lo..hi-1, holding at most PAIR_BLOCK detours (at least one node).
        base = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + PAIR_BLOCK, side="right")))
        _detours(csc, indptr, heads, w, keys, n, np.arange(lo, hi), pairs[lo:hi], best)
        lo = hi
    return _without(time, tails, best)


def _without(time: csr_matrix, tails: np.ndarray, best: np.ndarray) -> csr_matrix:
    """``time`` without the arcs whose detour ``best`` is shorter by the safe margin."""
    from scipy.sparse import csr_matrix

    w = time.data
    margin = 16.0 * np.finfo(np.float64).eps * float(w.sum())
    keep = ~(best < w - margin)
    indptr = np.zeros(time.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails[keep], minlength=time.shape[0]), out=indptr[1:])
    kept = csr_matrix((w[keep], time.indices[keep], indptr), shape=time.shape)
    kept.has_sorted_indices = time.has_sorted_indices
    return kept


def _detours(csc, indptr, heads, w, keys, n, mids, pairs, best) -> None:
    """Lower ``best[arc]`` to the shortest two-hop detour through each of ``mids``."""
    total = int(pairs.sum())
    if not total:
        return
    out_deg = np.diff(indptr)[mids]
    start = np.cumsum(pairs) - pairs
    offset = np.arange(total, dtype=np.int64) - np.repeat(start, pairs)
    width = np.repeat(out_deg, pairs)
    first_in = csc.indptr[mids].astype(np.int64)
    first_out = indptr[mids].astype(np.int64)
    a = np.repeat(first_in, pairs) + offset // width  # arc u -> x in the CSC
    b = np.repeat(first_out, pairs) + offset % width  # arc x -> v in the CSR
    u, v = csc.indices[a].astype(np.int64), heads[b]
    via = csc.data[a] + w[b]
    wanted = u * n + v
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    hit = (keys[at] == wanted) & (u != v)
    np.minimum.at(best, at[hit], via[hit])
