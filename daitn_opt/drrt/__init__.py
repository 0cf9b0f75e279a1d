"""The DRRT layer: snapshots (G-KRRM), requests, instance files, views, generators, converters."""

from .instance import (
    BenchmarkInfo,
    Instance,
    TravelSpec,
    instance_schema,
    load_instance,
    parse_instance,
    save_instance,
)
from .requests import InferenceModel, Target, TrainingRequest, TrainModel
from .snapshot import (
    Compute,
    ComputeNode,
    DataNode,
    Dataset,
    Facility,
    Link,
    MDFPNode,
    MPVUNode,
    Position,
    QueryDemand,
    Snapshot,
    UserNode,
    Window,
)
from .view import View, build_view, view

__all__ = [
    "BenchmarkInfo",
    "Compute",
    "ComputeNode",
    "DataNode",
    "Dataset",
    "Facility",
    "InferenceModel",
    "Instance",
    "Link",
    "MDFPNode",
    "MPVUNode",
    "Position",
    "QueryDemand",
    "Snapshot",
    "Target",
    "TrainModel",
    "TrainingRequest",
    "TravelSpec",
    "UserNode",
    "View",
    "Window",
    "build_view",
    "instance_schema",
    "load_instance",
    "parse_instance",
    "save_instance",
    "view",
]
