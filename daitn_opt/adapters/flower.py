"""Flower strategies that choose each round's clients with daitn-opt (``daitn-opt[flower]``).

Flower's :class:`~flwr.serverapp.strategy.FedAvg` samples the clients of a round at random. The
strategies here replace that choice by a DA-ITN decision made from what the clients report:

- :class:`DaitnFedAvg`: before each round, a query message asks every node for its profile
  (:class:`~daitn_opt.adapters.federation.ClientProfile`: samples, label histogram, label quality,
  speed, link, availability); the replies become a DRRT snapshot and federated T-FAM admits the
  round's request under its deadline (:func:`~daitn_opt.adapters.federation.select_clients`); the
  admitted plan's clients train.
- :class:`DaitnSequential`: cyclic / sequential learning as DA-ITN does it, one node per server
  round in the MTRCE order (:func:`~daitn_opt.adapters.federation.sequential_order`); when the
  node of a round does not reply, it is dropped and the rest of the pass is planned again.
- :class:`CyclicFedAvg`: a fixed cyclic order of ``k`` clients per round (a baseline).

The server sees random node ids; every strategy maps them to the clients' names through the query
replies, and records in :attr:`RoundLog` which clients trained (from the train replies, which
carry the client's name) and which failed. Flower's ``FedAvg`` with ``fraction_train`` is the
random-sampling baseline; :class:`RecordingFedAvg` adds the same log to it.

:func:`client_app` and :func:`server_app` build the example's apps over a
:class:`~daitn_opt.adapters.federation.Federation` (non-IID breast-cancer or digits); the train
config names the federation, so every simulated client rebuilds its own partition
(:func:`federation_of`). :func:`simulate` runs them in Flower's simulation engine with Ray
limited to one CPU, telemetry off and Flower's and Ray's files in a temporary folder.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flwr.app import (
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MessageType,
    MetricRecord,
    RecordDict,
)
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from .federation import (
    ClientProfile,
    Federation,
    RoundSpec,
    SoftmaxModel,
    make_federation,
    round_seconds,
    select_clients,
    sequential_order,
)

INDEX_KEY = "client-index"
"""Metric of every train reply: the index of the client that trained (3 for ``"p3"``; metric
records hold numbers only)."""


@dataclass
class RoundLog:
    """What happened in one server round, from the replies."""

    server_round: int
    chosen: list[str]
    trained: list[str]
    failed: list[str]
    sim_seconds: float
    """Simulated length of the round (:func:`~daitn_opt.adapters.federation.round_seconds`)."""


# -- federation config carried by the messages -------------------------------------------------
def federation_config(
    task: str,
    clients: int,
    seed: int,
    *,
    p_down: float = 0.1,
    down: dict[int, list[int]] | None = None,
    epochs: int = 1,
    lr: float = 0.1,
) -> dict[str, Any]:
    """The config every message carries: which federation, and the local training.

    ``down`` scripts failures on top of ``p_down``: round -> clients down in that round.
    """
    script = ";".join(f"{r}:" + ",".join(map(str, cs)) for r, cs in sorted((down or {}).items()))
    return {
        "task": task,
        "clients": clients,
        "fed-seed": seed,
        "p-down": p_down,
        "down": script,
        "epochs": epochs,
        "lr": lr,
    }


@cache
def _federation(task: str, clients: int, seed: int, p_down: float, down: str) -> Federation:
    fed = make_federation(task, clients, seed, p_down=p_down)
    for part in filter(None, down.split(";")):
        r, _, cs = part.partition(":")
        fed.down_rounds[int(r)] = {int(c) for c in cs.split(",") if c}
    return fed


def federation_of(config: Any) -> Federation:
    """The federation a message's config names (built once per process)."""
    return _federation(
        str(config["task"]),
        int(config["clients"]),
        int(config["fed-seed"]),
        float(config["p-down"]),
        str(config["down"]),
    )


# -- strategies --------------------------------------------------------------------------------
class _Profiled:
    """Profiles by query message, node-id mapping, and the round log (shared by the strategies).

    ``num_nodes``: how many nodes must be registered before the first round.
    """

    num_nodes: int
    spec: RoundSpec
    query_timeout: float
    node_of: dict[str, int]
    name_of: dict[int, str]
    profiles: dict[str, ClientProfile]
    rounds: list[RoundLog]
    _chosen: dict[int, list[str]]

    def _setup(self, num_nodes: int, spec: RoundSpec, query_timeout: float) -> None:
        self.num_nodes, self.spec, self.query_timeout = num_nodes, spec, query_timeout
        self.node_of, self.name_of, self.profiles = {}, {}, {}
        self.rounds, self._chosen = [], {}

    def wait_for_nodes(self, grid: Grid) -> list[int]:
        """Every node id, once ``num_nodes`` are registered (Flower registers them lazily)."""
        while len(ids := list(grid.get_node_ids())) < self.num_nodes:
            time.sleep(0.2)
        return ids

    def query(self, grid: Grid, server_round: int, config: ConfigRecord) -> list[ClientProfile]:
        """Ask every node for its profile; map node ids to names. Silent nodes are left out."""
        content = ConfigRecord({**dict(config), "server-round": server_round})
        messages = [
            Message(
                content=RecordDict({"config": content}),
                message_type=MessageType.QUERY,
                dst_node_id=node,
            )
            for node in self.wait_for_nodes(grid)
        ]
        found = []
        for reply in grid.send_and_receive(messages, timeout=self.query_timeout):
            if reply.has_error():
                continue
            profile = ClientProfile.from_record(reply.content["profile"])
            self.node_of[profile.name] = reply.metadata.src_node_id
            self.name_of[reply.metadata.src_node_id] = profile.name
            self.profiles[profile.name] = profile
            found.append(profile)
        return sorted(found, key=lambda p: _index(p.name))

    def _messages(
        self, server_round: int, names: list[str], arrays: ArrayRecord, config: ConfigRecord
    ) -> list[Message]:
        self._chosen[server_round] = list(names)
        config["server-round"] = server_round
        record = RecordDict({"arrays": arrays, "config": config})
        return [
            Message(content=record, message_type=MessageType.TRAIN, dst_node_id=self.node_of[n])
            for n in names
        ]

    def _log(self, server_round: int, replies: list[Message]) -> RoundLog:
        trained, failed = [], []
        for reply in replies:
            name = self.name_of.get(reply.metadata.src_node_id, str(reply.metadata.src_node_id))
            if reply.has_error():
                failed.append(name)
            else:
                trained.append(f"p{int(reply.content['metrics'][INDEX_KEY])}")
        chosen = self._chosen.get(server_round, trained + failed)
        silent = [n for n in chosen if n not in trained and n not in failed]
        failed += silent  # no reply before the timeout counts as a failure
        known = [self.profiles[n] for n in chosen if n in self.profiles]
        down = [ClientProfile(**{**p.__dict__, "up": p.name in trained}) for p in known]
        log = RoundLog(
            server_round,
            chosen,
            sorted(trained, key=_index),
            sorted(failed, key=_index),
            round_seconds(down, self.spec),
        )
        self.rounds.append(log)
        return log


def _index(name: str) -> int:
    digits = "".join(c for c in name if c.isdigit())
    return int(digits) if digits else 0


class RecordingFedAvg(_Profiled, FedAvg):
    """Flower's FedAvg (random sampling of ``fraction_train`` of the nodes), with the round log.

    It queries the nodes once, before the first round, only to name them in the log.
    """

    def __init__(
        self, num_nodes: int, spec: RoundSpec, *, query_timeout: float = 120.0, **fedavg: Any
    ) -> None:
        fedavg.setdefault("min_available_nodes", num_nodes)
        FedAvg.__init__(self, fraction_evaluate=0.0, **fedavg)
        self._setup(num_nodes, spec, query_timeout)

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        if not self.node_of:
            self.query(grid, server_round, config)
        messages = list(super().configure_train(server_round, arrays, config, grid))
        self._chosen[server_round] = [self.name_of[m.metadata.dst_node_id] for m in messages]
        return messages

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        self._log(server_round, replies)
        return super().aggregate_train(server_round, replies)


class CyclicFedAvg(RecordingFedAvg):
    """A fixed cyclic order: round r trains clients ``(r-1)k .. rk-1`` (mod n) by name."""

    def __init__(self, num_nodes: int, spec: RoundSpec, *, per_round: int, **kw: Any) -> None:
        super().__init__(num_nodes, spec, **kw)
        self.per_round = per_round

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        if not self.node_of:
            self.query(grid, server_round, config)
        names = sorted(self.node_of, key=_index)
        first = (server_round - 1) * self.per_round
        chosen = [names[(first + i) % len(names)] for i in range(self.per_round)]
        return self._messages(server_round, chosen, arrays, config)


class DaitnFedAvg(RecordingFedAvg):
    """FedAvg whose round clients are admitted by federated T-FAM from queried profiles.

    Parameters
    ----------
    num_nodes
        Nodes to wait for before the first round.
    spec
        The round's deadline, model size and cost, local epochs and the eligibility threshold
        (``min_quality``).
    solver, time_limit, seed
        The T-FAM solver (``ls``, ``greedy``, ``highs``, ...) and its limits.
    """

    def __init__(
        self,
        num_nodes: int,
        spec: RoundSpec,
        *,
        solver: str = "ls",
        time_limit: float = 5.0,
        seed: int = 0,
        **kw: Any,
    ) -> None:
        super().__init__(num_nodes, spec, **kw)
        self.solver, self.time_limit, self.seed = solver, time_limit, seed

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        profiles = self.query(grid, server_round, config)  # fresh snapshot every round
        chosen = select_clients(
            profiles,
            self.spec,
            solver=self.solver,
            time_limit=self.time_limit,
            seed=self.seed + server_round,
        )
        return self._messages(server_round, chosen, arrays, config)


class DaitnSequential(RecordingFedAvg):
    """Sequential learning: one node per server round, in the MTRCE order of a pass.

    A pass is planned over the nodes that report being up (route budget ``pass_budget`` s); each
    round sends the model to the next node of the pass; when that node fails, it is dropped from
    the pass and the rest of the pass is planned again from fresh profiles.
    """

    def __init__(
        self,
        num_nodes: int,
        spec: RoundSpec,
        *,
        pass_budget: float,
        solver: str = "ils",
        time_limit: float = 5.0,
        seed: int = 0,
        **kw: Any,
    ) -> None:
        super().__init__(num_nodes, spec, min_train_nodes=1, **kw)
        self.pass_budget, self.solver = pass_budget, solver
        self.time_limit, self.seed = time_limit, seed
        self.plan: list[str] = []
        self.visited: set[str] = set()
        self.plans: list[list[str]] = []
        """Every plan made (a new pass, or a re-plan after a failure)."""

    def _order(self, profiles: list[ClientProfile], server_round: int) -> list[str]:
        return sequential_order(
            profiles,
            self.spec,
            budget=self.pass_budget,
            solver=self.solver,
            time_limit=self.time_limit,
            seed=self.seed + server_round,
        )

    def _replan(self, grid: Grid, server_round: int, config: ConfigRecord) -> None:
        profiles = self.query(grid, server_round, config)
        self.plan = self._order([p for p in profiles if p.name not in self.visited], server_round)
        if not self.plan and self.visited:  # nothing eligible left: the pass is over, a new one
            self.visited.clear()
            self.plan = self._order(profiles, server_round)
        self.plans.append(list(self.plan))

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        if not self.plan:
            self._replan(grid, server_round, config)
        if not self.plan:
            return []
        node = self.plan.pop(0)
        self.visited.add(node)
        return self._messages(server_round, [node], arrays, config)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        log = self._log(server_round, replies)
        if log.failed:
            self.plan = []  # re-plan the rest of the pass at the next round
        ok = [r for r in replies if not r.has_error()]
        return FedAvg.aggregate_train(self, server_round, ok)


# -- the example's apps ------------------------------------------------------------------------
def client_app() -> ClientApp:
    """A ClientApp: answers the profile query and trains the softmax model on its partition.

    A node that is down in a round (:meth:`~daitn_opt.adapters.federation.Federation.is_up`)
    says so in the query and fails a train message (an error reply).
    """
    app = ClientApp()

    @app.query()
    def query(msg: Message, context: Context) -> Message:
        config = msg.content["config"]
        client = int(context.node_config["partition-id"])
        profile = federation_of(config).profile(client, int(config["server-round"]))
        return Message(RecordDict({"profile": ConfigRecord(profile.to_record())}), reply_to=msg)

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        config = msg.content["config"]
        fed, client = federation_of(config), int(context.node_config["partition-id"])
        server_round = int(config["server-round"])
        if not fed.is_up(client, server_round):
            raise RuntimeError(f"client p{client} is down in round {server_round}")
        arrays = SoftmaxModel.train(
            msg.content["arrays"].to_numpy_ndarrays(),
            fed.x[client],
            fed.y[client],
            epochs=int(config["epochs"]),
            lr=float(config["lr"]),
            seed=server_round,
        )
        metrics = {"num-examples": len(fed.y[client]), INDEX_KEY: client}
        return Message(
            RecordDict({"arrays": ArrayRecord(arrays), "metrics": MetricRecord(metrics)}),
            reply_to=msg,
        )

    return app


@dataclass
class Run:
    """A strategy run by :func:`server_app`: its log and the accuracy after each round."""

    strategy: Any
    accuracy: list[float] = field(default_factory=list)
    """Centralised test accuracy after rounds 0 (initial model), 1, 2, ..."""


def server_app(
    runs: list[tuple[str, Callable[[], Any], dict[str, Any]]],
    num_rounds: int,
    out: dict[str, Run],
) -> ServerApp:
    """A ServerApp running each ``(label, make_strategy, federation config)`` in turn for
    ``num_rounds`` rounds on the same nodes; ``out[label]`` receives its :class:`Run`."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        for label, make, config in runs:
            fed = federation_of(config)
            run = out[label] = Run(make())
            features = fed.x_test.shape[1]

            def evaluate(
                server_round: int, arrays: ArrayRecord, run: Run = run, fed: Federation = fed
            ) -> MetricRecord:
                acc = SoftmaxModel.accuracy(arrays.to_numpy_ndarrays(), fed.x_test, fed.y_test)
                run.accuracy.append(acc)
                return MetricRecord({"accuracy": acc})

            run.strategy.start(
                grid=grid,
                initial_arrays=ArrayRecord(SoftmaxModel.init(features, fed.num_classes)),
                num_rounds=num_rounds,
                timeout=600.0,
                train_config=ConfigRecord(config),
                evaluate_fn=evaluate,
            )

    return app


def simulate(
    runs: list[tuple[str, Callable[[], Any], dict[str, Any]]],
    *,
    num_nodes: int,
    num_rounds: int,
) -> dict[str, Run]:
    """Run the strategies in Flower's simulation engine on this machine; their :class:`Run`s.

    Ray gets one CPU (one client at a time), telemetry is off, and Flower's and Ray's files go
    to a temporary folder, removed afterwards (directly under the system's temporary folder: Ray's
    socket paths must stay below 108 bytes).
    """
    from flwr.simulation import run_simulation

    out: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="dflwr-") as tmp:
        saved = {k: os.environ.get(k) for k in ("FLWR_TELEMETRY_ENABLED", "FLWR_HOME")}
        os.environ["FLWR_TELEMETRY_ENABLED"] = "0"
        os.environ["FLWR_HOME"] = os.path.join(tmp, "flwr")
        try:
            run_simulation(
                server_app=server_app(runs, num_rounds, out),
                client_app=client_app(),
                num_supernodes=num_nodes,
                backend_config={
                    "client_resources": {"num_cpus": 1},
                    "init_args": {"num_cpus": 1, "_temp_dir": os.path.join(tmp, "ray")},
                },
            )
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return out
