"""Local datasets for the executor: real data that packages ship, split to match a snapshot.

Every data node of a snapshot reports a dataset summary (modality, task, sample count, quality,
label histogram) but no data. To replay a decision as real training, each such node gets a local
dataset built from a real dataset that scikit-learn ships (``breast-cancer``: 569 tabular samples,
30 features, labels ``"0"`` malignant / ``"1"`` benign; ``digits``: 1,797 8x8 images, labels
``"0"``..``"9"``), or, for any other task and for scale, a generated classification problem
(:func:`sklearn.datasets.make_classification`). No download is ever made.

How a node's data is made (DA-ITN, arXiv 2501.05323, Sec. III: terminal nodes hold their data):

1. A stratified held-out test set is drawn first; it stays with the MPVU (its size is the MPVU's
   ``eval_samples`` when given, else 20% of the source; replays of a generated instance use the
   size it held out for the task, :func:`held_out_samples`).
2. Each node receives exactly the per-label counts of its label histogram, drawn without
   replacement from the remaining pool while it lasts (so nodes hold disjoint samples) and with
   replacement after that (counted in :attr:`NodeData.reused`). A node without a histogram gets
   a label-skewed one from :func:`dirichlet_histogram`.
3. Quality ``q`` becomes real: ``round((1 - q) * samples)`` labels are replaced by a different,
   uniformly drawn label (:func:`corrupt_labels`).

Features are standardised with the source's global statistics (a scaling agreed on in advance,
as federated pipelines do; it carries no sample). Tensors are made once; they never leave their
:class:`NodeData`, whose :meth:`NodeData.train` takes the model to the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..drrt.instance import Instance
from ..drrt.requests import TrainingRequest
from ..drrt.snapshot import Dataset, Snapshot
from ..errors import InputError

SHIPPED = ("breast-cancer", "digits")
"""Tasks backed by a dataset scikit-learn ships; any other task is generated."""


@dataclass(frozen=True, eq=False)
class SourceData:
    """A labelled source dataset: features ``x`` (float32), labels ``y`` (int64), class names."""

    name: str
    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    in_shape: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_source(
    task: str,
    modality: str = "tabular",
    *,
    classes: list[str] | None = None,
    samples: int = 2000,
    features: int = 20,
    seed: int = 0,
) -> SourceData:
    """The source dataset of ``task``.

    Parameters
    ----------
    task
        ``"breast-cancer"`` or ``"digits"`` load scikit-learn's bundled sets; any other task is
        generated with :func:`sklearn.datasets.make_classification` (``samples`` x ``features``,
        one class per name in ``classes``, default two).
    modality
        ``"image"`` keeps digits as ``(1, 8, 8)`` images; anything else flattens them.
    seed
        Seed of the generated data (the shipped sets are fixed).

    Returns
    -------
    SourceData
        Standardised float32 features, int64 labels, class names and the model input shape.

    Examples
    --------
    >>> src = load_source("breast-cancer")
    >>> src.x.shape, src.classes, src.in_shape
    ((569, 30), ['0', '1'], (30,))
    """
    if task == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        x, y = load_breast_cancer(return_X_y=True)
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        return SourceData(task, x.astype(np.float32), y.astype(np.int64), ["0", "1"], (30,))
    if task == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        # One scalar mean and deviation over all pixels (not per pixel: the border pixels are
        # almost always 0): the images keep their layout, the inputs are zero-centred.
        x = ((x - x.mean()) / x.std()).astype(np.float32)
        shape: tuple[int, ...] = (1, 8, 8) if modality == "image" else (64,)
        return SourceData(task, x, y.astype(np.int64), [str(d) for d in range(10)], shape)
    from sklearn.datasets import make_classification

    names = list(classes) if classes else ["0", "1"]
    x, y = make_classification(
        n_samples=max(samples, 4 * len(names)),
        n_features=features,
        n_informative=max(2, min(features, 2 * len(names))),
        n_redundant=0,
        n_classes=len(names),
        n_clusters_per_class=1,
        class_sep=1.0,
        flip_y=0.0,
        random_state=seed,
    )
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return SourceData(task, x.astype(np.float32), y.astype(np.int64), names, (features,))


# -- partitioners -------------------------------------------------------------------------------
def quantity_skew(
    total: int, clients: int, sigma: float, rng: np.random.Generator, minimum: int = 1
) -> np.ndarray:
    """Sample counts for ``clients`` nodes summing to ``total``, log-normally skewed.

    ``sigma = 0`` splits evenly; larger ``sigma`` makes a few nodes hold most of the data (the
    quantity-skew setting of Li et al., "Federated learning on non-IID data silos", ICDE 2022).

    Parameters
    ----------
    total, clients
        Samples to share out and nodes to share them among.
    sigma
        Standard deviation of the log-normal weights.
    rng
        Seeded generator.
    minimum
        Samples every node gets at least.

    Returns
    -------
    numpy.ndarray
        ``clients`` int64 counts summing to ``total`` (rounding remainders go to the largest
        fractional parts).

    Raises
    ------
    InputError
        ``total`` below ``clients * minimum``.

    Examples
    --------
    >>> import numpy as np
    >>> quantity_skew(100, 4, 0.0, np.random.default_rng(0)).tolist()
    [25, 25, 25, 25]
    >>> int(quantity_skew(100, 4, 1.0, np.random.default_rng(0)).sum())
    100
    """
    if clients < 1 or total < clients * minimum:
        raise InputError("total", total, f"cannot give {clients} nodes at least {minimum} each")
    weights = rng.lognormal(0.0, sigma, size=clients) if sigma > 0 else np.ones(clients)
    spare = total - clients * minimum
    counts = np.floor(weights / weights.sum() * spare).astype(np.int64)
    # Hand out the rounding remainder to the largest fractional parts (deterministic).
    rest = spare - int(counts.sum())
    frac = weights / weights.sum() * spare - counts
    counts[np.argsort(-frac, kind="stable")[:rest]] += 1
    return counts + minimum


def dirichlet_histogram(
    samples: int, num_classes: int, alpha: float, rng: np.random.Generator
) -> np.ndarray:
    """A label histogram of ``samples`` drawn with class proportions ~ Dirichlet(``alpha``).

    Small ``alpha`` (0.1) gives nodes holding one or two labels; large ``alpha`` (100) is
    close to IID (Hsu et al., "Measuring the effects of non-identical data distribution", 2019).

    Raises
    ------
    InputError
        ``alpha`` not positive.

    Examples
    --------
    >>> import numpy as np
    >>> dirichlet_histogram(50, 3, 0.1, np.random.default_rng(0)).tolist()  # nearly one label
    [4, 0, 46]
    """
    if alpha <= 0:
        raise InputError("alpha", alpha, "must be positive")
    if samples == 0:
        return np.zeros(num_classes, dtype=np.int64)
    return rng.multinomial(samples, rng.dirichlet(np.full(num_classes, alpha)))


def dirichlet_label_skew(
    y: np.ndarray, sizes: np.ndarray, alpha: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Split sample indices of labels ``y`` into parts of the given ``sizes`` with label skew.

    Each part's histogram comes from :func:`dirichlet_histogram`; samples are drawn without
    replacement while a label lasts, with replacement afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    >>> parts = dirichlet_label_skew(y, np.array([4, 6]), 100.0, np.random.default_rng(0))
    >>> [len(p) for p in parts]
    [4, 6]
    """
    num_classes = int(y.max()) + 1 if len(y) else 0
    pools = _Pools(y, num_classes, rng)
    return [pools.draw(dirichlet_histogram(int(s), num_classes, alpha, rng)) for s in sizes]


def corrupt_labels(
    y: np.ndarray, quality: float, num_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``round((1 - quality) * len(y))`` labels by a different label; return (y, mask).

    Parameters
    ----------
    y
        Labels (class indices); not modified.
    quality
        Share of labels kept (1: clean).
    num_classes
        Labels are redrawn uniformly among the other ``num_classes - 1`` classes.
    rng
        Seeded generator.

    Examples
    --------
    >>> import numpy as np
    >>> out, noisy = corrupt_labels(np.zeros(10, dtype=np.int64), 0.8, 2, np.random.default_rng(0))
    >>> int(noisy.sum()), int(out.sum())
    (2, 2)
    """
    out = y.copy()
    noisy = np.zeros(len(y), dtype=bool)
    count = round((1.0 - quality) * len(y))
    if count == 0 or num_classes < 2:
        return out, noisy
    idx = rng.choice(len(y), size=count, replace=False)
    out[idx] = (out[idx] + rng.integers(1, num_classes, size=count)) % num_classes
    noisy[idx] = True
    return out, noisy


class _Pools:
    """Per-label queues of source indices: disjoint draws while they last, then with replacement."""

    def __init__(self, y: np.ndarray, num_classes: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.members = [np.flatnonzero(y == c) for c in range(num_classes)]
        self.queues = [rng.permutation(m) for m in self.members]
        self.next = [0] * num_classes
        self.reused = 0

    def draw(self, histogram: np.ndarray) -> np.ndarray:
        parts = []
        for c, want in enumerate(np.asarray(histogram, dtype=np.int64)):
            if want == 0:
                continue
            if len(self.members[c]) == 0:
                raise InputError("labels", c, "the source dataset has no sample of this label")
            fresh = self.queues[c][self.next[c] : self.next[c] + want]
            self.next[c] += len(fresh)
            extra = int(want) - len(fresh)
            if extra:
                self.reused += extra
                fresh = np.concatenate([fresh, self.rng.choice(self.members[c], size=extra)])
            parts.append(fresh)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# -- node data ----------------------------------------------------------------------------------
@dataclass(eq=False)
class NodeData:
    """The local dataset of one node, as tensors made once; only models come to it.

    Attributes
    ----------
    node
        The node id.
    x, y
        Features (float32) and labels (int64, after corruption) as torch tensors.
    noisy
        How many labels were corrupted to match the node's quality.
    reused
        How many samples were drawn again because the source ran out (0: all disjoint).
    quality
        The snapshot's quality of the node's data (samples-weighted over its datasets).
    """

    node: str
    x: torch.Tensor
    y: torch.Tensor
    noisy: int = 0
    reused: int = 0
    quality: float = 1.0

    @property
    def samples(self) -> int:
        return int(self.y.shape[0])


@dataclass(eq=False)
class NetworkData:
    """Local datasets of every data node holding data for one task, and the MPVU's test set.

    Build it with :func:`build_network_data`. ``nodes`` maps node id to :class:`NodeData`;
    ``test_x``/``test_y`` live at the MPVU.
    """

    task: str
    modality: str
    classes: list[str]
    in_shape: tuple[int, ...]
    nodes: dict[str, NodeData]
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: SourceData = field(repr=False)
    _pools: _PoolsView = field(repr=False)
    _rng: np.random.Generator = field(repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def histogram(self, node_id: str) -> dict[str, int]:
        """The label histogram of a node's (corrupted) labels."""
        counts = np.bincount(self.nodes[node_id].y.numpy(), minlength=self.num_classes)
        return {c: int(k) for c, k in zip(self.classes, counts, strict=True)}

    def grow(self, node_id: str, samples: int) -> NodeData:
        """Add ``samples`` new samples to a node (a "data added" event).

        The new samples follow the node's current label proportions and carry the node's quality
        as label noise.
        """
        if node_id not in self.nodes:
            raise InputError("node", node_id, f"holds no {self.task} data")
        if samples < 0:
            raise InputError("samples", samples, "must be >= 0")
        old = self.nodes[node_id]
        weights = np.bincount(old.y.numpy(), minlength=self.num_classes).astype(np.float64)
        if weights.sum() == 0:
            weights[:] = 1.0
        hist = self._rng.multinomial(samples, weights / weights.sum())
        before = self._pools.reused
        idx = self._pools.draw(hist)
        y, noisy = corrupt_labels(self.source.y[idx], old.quality, self.num_classes, self._rng)
        x = torch.from_numpy(self.source.x[idx].reshape((-1, *self.in_shape)).copy())
        self.nodes[node_id] = NodeData(
            node_id,
            torch.cat([old.x, x]),
            torch.cat([old.y, torch.from_numpy(y)]),
            old.noisy + int(noisy.sum()),
            old.reused + self._pools.reused - before,
            old.quality,
        )
        return self.nodes[node_id]


def matching_datasets(node, modality: str, task: str) -> list[Dataset]:
    """A data node's datasets of the given modality and task."""
    return [d for d in getattr(node, "datasets", []) if d.modality == modality and d.task == task]


def held_out_samples(instance: Instance, request: TrainingRequest) -> int | None:
    """The test-set size the instance set aside for ``request``'s data set, or None.

    Generated instances record, per ``"modality/task"`` in ``metadata["datasets"]``, how many
    samples of the source they kept out of every node's partition (``test_samples``: 119 of
    breast-cancer, 447 of digits). The MPVU's ``eval_samples`` is one number for all tasks, so
    the task's own held-out size is the better test set when the instance gives one.

    Raises
    ------
    InputError
        When the recorded size is not a positive integer.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> held_out_samples(inst, inst.request("r1"))
    119
    """
    datasets = instance.metadata.get("datasets") if isinstance(instance.metadata, dict) else None
    entry = (
        datasets.get(f"{request.modality}/{request.task}") if isinstance(datasets, dict) else None
    )
    if not isinstance(entry, dict) or "test_samples" not in entry:
        return None
    size = entry["test_samples"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InputError(
            f"metadata.datasets[{request.modality}/{request.task}].test_samples",
            size,
            "must be a positive integer",
        )
    return size


def instance_network_data(
    instance: Instance, request: TrainingRequest, *, seed: int = 0
) -> NetworkData:
    """:func:`build_network_data` with the test set the instance held out for the task.

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> data = instance_network_data(inst, inst.request("r1"), seed=0)
    >>> data.task, len(data.nodes), int(data.test_y.shape[0]), data.histogram("h02")
    ('breast-cancer', 14, 119, {'0': 24, '1': 24})
    """
    return build_network_data(
        instance.snapshot, request, seed=seed, test_samples=held_out_samples(instance, request)
    )


# Over 80 lines for its docstring (42 lines); the body is 38 lines.
def build_network_data(
    snapshot: Snapshot,
    request: TrainingRequest,
    *,
    seed: int = 0,
    alpha: float = 0.5,
    test_samples: int | None = None,
) -> NetworkData:
    """Local datasets for every data node holding ``request``'s modality and task.

    Parameters
    ----------
    snapshot
        The DRRT snapshot; every data node with a matching dataset gets local data (eligible or
        not: eligibility can change during a replay).
    request
        Its modality and task pick the source (see :func:`load_source`).
    seed
        Seed of the test split, the draws and the label noise.
    alpha
        Dirichlet concentration for nodes whose datasets carry no label histogram.
    test_samples
        Size of the MPVU's test set; default the first MPVU's ``eval_samples``, else 20% of the
        source, capped at a third of the source. Replays of an instance pass the size the
        instance held out for the task (:func:`instance_network_data`).

    Returns
    -------
    NetworkData
        One :class:`NodeData` per data node holding the task, and the MPVU's test set.

    Raises
    ------
    InputError
        When no node holds data of the request's modality and task, or a histogram names a
        label the source does not have.

    Notes
    -----
    Deterministic for a seed: the same snapshot, request and seed give the same tensors. Linear
    in the samples of the source; no download (see the module docstring).

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> data = build_network_data(inst.snapshot, inst.request("r1"), seed=0, test_samples=100)
    >>> data.nodes["h02"].samples, int(data.test_y.shape[0])
    (48, 100)
    """
    rng = np.random.default_rng(seed)
    holders = [
        (n, matching_datasets(n, request.modality, request.task)) for n in snapshot.of_kind("data")
    ]
    holders = [(n, ds) for n, ds in holders if ds]
    if not holders:
        raise InputError(
            "request.task", request.task, f"no data node holds {request.modality} data for it"
        )
    names = sorted({lb for _, ds in holders for d in ds for lb in (d.labels or {})}, key=_label_key)
    total = sum(d.samples for _, ds in holders for d in ds)
    source = load_source(
        request.task,
        request.modality,
        classes=names or None,
        samples=int(total * 1.3) + 200,
        seed=seed,
    )
    _check_labels(holders, source, request.task)
    test_idx, train_idx = _split_test(snapshot, source, test_samples, rng)
    pools = _Pools(source.y[train_idx], source.num_classes, rng)
    nodes = {
        node.id: _node_data(node.id, datasets, source, train_idx, pools, alpha, rng)
        for node, datasets in holders
    }
    test_x = source.x[test_idx].reshape((-1, *source.in_shape))
    return NetworkData(
        task=request.task,
        modality=request.modality,
        classes=source.classes,
        in_shape=source.in_shape,
        nodes=nodes,
        test_x=torch.from_numpy(np.ascontiguousarray(test_x)),
        test_y=torch.from_numpy(source.y[test_idx].copy()),
        source=source,
        _pools=_PoolsView(pools, train_idx),
        _rng=rng,
    )


def _split_test(
    snapshot: Snapshot, source: SourceData, test_samples: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(test, train)`` indices of the source: a stratified test set for the MPVU first.

    Its size is ``test_samples``, else the first MPVU's ``eval_samples``, else 20% of the
    source; at most a third of the source.
    """
    mpvus = [n for n in snapshot.of_kind("mpvu")]
    if test_samples is None:
        given = mpvus[0].eval_samples if mpvus else 0
        test_samples = given if given > 0 else round(0.2 * len(source.y))
    test_samples = int(min(test_samples, len(source.y) // 3))
    test_idx = _stratified(source.y, test_samples, source.num_classes, rng)
    train_mask = np.ones(len(source.y), dtype=bool)
    train_mask[test_idx] = False
    return test_idx, np.flatnonzero(train_mask)


def _check_labels(holders: list[tuple[Any, list[Any]]], source: SourceData, task: str) -> None:
    """Every label a node's histogram names is a class of the source."""
    classes = set(source.classes)
    for n, ds in holders:
        for d in ds:
            for lb in d.labels or {}:
                if lb not in classes:
                    raise InputError(
                        f"nodes[{n.id!r}].datasets.labels",
                        lb,
                        f"not a label of {task}; expected one of {source.classes}",
                    )


def _node_data(
    node_id: str,
    datasets: list[Any],
    source: SourceData,
    train_idx: np.ndarray,
    pools: _Pools,
    alpha: float,
    rng: np.random.Generator,
) -> NodeData:
    """A node's local samples: drawn from the training pool by each dataset's histogram (or a
    Dirichlet draw without one), labels corrupted by the dataset's quality."""
    class_index = {c: i for i, c in enumerate(source.classes)}
    xs, ys, noisy_total, reused_before = [], [], 0, pools.reused
    for d in datasets:
        if d.labels:
            hist = np.zeros(source.num_classes, dtype=np.int64)
            for lb, k in d.labels.items():
                hist[class_index[lb]] += k
        else:
            hist = dirichlet_histogram(d.samples, source.num_classes, alpha, rng)
        idx = train_idx[pools.draw(hist)]
        y, noisy = corrupt_labels(source.y[idx], d.quality, source.num_classes, rng)
        xs.append(source.x[idx])
        ys.append(y)
        noisy_total += int(noisy.sum())
    x = np.concatenate(xs).reshape((-1, *source.in_shape))
    samples = sum(d.samples for d in datasets)
    quality = sum(d.samples * d.quality for d in datasets) / max(samples, 1)
    return NodeData(
        node_id,
        torch.from_numpy(np.ascontiguousarray(x)),
        torch.from_numpy(np.concatenate(ys)),
        noisy_total,
        pools.reused - reused_before,
        quality,
    )


class _PoolsView:
    """The training pool as source indices (``_Pools`` works on positions in ``train_idx``)."""

    def __init__(self, pools: _Pools, train_idx: np.ndarray) -> None:
        self._pools = pools
        self._train_idx = train_idx

    @property
    def reused(self) -> int:
        return self._pools.reused

    def draw(self, histogram: np.ndarray) -> np.ndarray:
        return self._train_idx[self._pools.draw(histogram)]


def _stratified(y: np.ndarray, size: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` indices of ``y`` with class proportions as in ``y`` (largest remainders)."""
    counts = np.bincount(y, minlength=num_classes)
    share = counts / counts.sum() * size
    take = np.floor(share).astype(np.int64)
    take[np.argsort(-(share - take), kind="stable")[: size - int(take.sum())]] += 1
    parts = [
        rng.choice(np.flatnonzero(y == c), size=int(k), replace=False) for c, k in enumerate(take)
    ]
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def _label_key(label: str) -> tuple[int, int | str]:
    """Sort numeric labels numerically ("2" before "10"), others alphabetically after them."""
    return (0, int(label)) if label.lstrip("-").isdigit() else (1, label)
