"""The executor: replays decisions as real PyTorch training and serving on a simulated clock.

An optimizer's objective is a promise; the executor measures what a decision achieves. Local
datasets come from data that scikit-learn ships (:mod:`.data`), models from :mod:`.models`;
:func:`replay_sequential` follows MTRCE routes, :func:`replay_federated` runs FedAvg rounds over a
client set, :func:`replay_serving` sends Poisson queries through a QIRCE placement, and
:mod:`.events` lists changes of the network that :mod:`.state` applies during a replay, while a
static, re-planning or AATS policy (:mod:`.policies`) picks each hop. Every
replay returns an :class:`Outcome` (trace and summary, JSON and CSV).
"""

from .concurrent import ConcurrentOutcome, replay_concurrent
from .data import (
    NetworkData,
    build_network_data,
    corrupt_labels,
    dirichlet_label_skew,
    held_out_samples,
    instance_network_data,
    quantity_skew,
)
from .events import EventTimeline
from .federated import replay_federated, select_clients
from .models import MODELS, configure_torch, model_bytes
from .outcome import Outcome, Step, Summary
from .policies import make_policy
from .reference import Reference, central_reference, pooled_reference
from .sequential import SequentialReplay, replay_sequential
from .serving import ServingOutcome, nearest_placement, replay_serving
from .state import NetworkState
from .training import TrainConfig

__all__ = [
    "MODELS",
    "ConcurrentOutcome",
    "EventTimeline",
    "NetworkData",
    "NetworkState",
    "Outcome",
    "Reference",
    "SequentialReplay",
    "ServingOutcome",
    "Step",
    "Summary",
    "TrainConfig",
    "build_network_data",
    "central_reference",
    "configure_torch",
    "corrupt_labels",
    "dirichlet_label_skew",
    "held_out_samples",
    "instance_network_data",
    "make_policy",
    "model_bytes",
    "nearest_placement",
    "pooled_reference",
    "quantity_skew",
    "replay_concurrent",
    "replay_federated",
    "replay_sequential",
    "replay_serving",
    "select_clients",
]
