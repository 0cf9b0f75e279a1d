"""One entry point for replaying a solution document, as ``daitn-opt replay`` does.

A solution document is what ``daitn-opt solve --json`` prints (a :class:`~daitn_opt.result.Result`
as JSON) or a bare solution object (``{"routes": ...}`` for MTRCE and QIRCE, ``{"clients": [...]}``
for a federated client set). :func:`replay_document` checks that it belongs to the instance and
dispatches to the sequential, federated or serving replay.
"""

from __future__ import annotations

from typing import Any

from ..drrt.instance import Instance
from ..errors import InputError
from ..kinds import BARE_SOLUTION_KEYS, bare_solution_kind, kinds
from ..problems import validate_solution
from ..result import Result
from .events import EventTimeline
from .federated import replay_federated
from .outcome import Outcome
from .reference import ceiling_note
from .sequential import Callback, replay_sequential
from .serving import ServingOutcome, replay_serving

MODES = ("sequential", "federated", "serving")


def parse_document(doc: Any, instance: Instance) -> tuple[str | None, str | None, dict[str, Any]]:
    """``(problem kind or None, request id or None, solution)`` of a solution document.

    A :class:`~daitn_opt.result.Result` document gives its kind and request; a bare solution
    gives neither. Either is checked against its kind's solution shape.

    Raises
    ------
    InputError
        When the document is no object, names another instance, has no solution, or its
        solution has the wrong shape (naming the field).

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> doc = {"problem": "mtrce", "solver": "ils", "status": "feasible", "request": "r1",
    ...        "solution": {"routes": [["owner", "h02", "mpvu"]]}}
    >>> parse_document(doc, inst)
    ('mtrce', 'r1', {'routes': [['owner', 'h02', 'mpvu']]})
    >>> parse_document({"clients": ["h02"]}, inst)
    (None, None, {'clients': ['h02']})
    """
    if not isinstance(doc, dict):
        raise InputError("solution", type(doc).__name__, "expected a JSON object")
    if "problem" in doc and "status" in doc:
        result = Result.from_dict(doc)
        if result.instance is not None and result.instance != instance.name:
            raise InputError(
                "solution.instance", result.instance, f"does not match instance {instance.name!r}"
            )
        if not result.is_feasible():
            raise InputError("solution.status", result.status.value, "has no solution to replay")
        if result.problem in kinds() and result.solution:
            validate_solution(result.problem, result.solution, "solution.solution")
        return result.problem, result.request, result.solution
    kind = bare_solution_kind(doc, BARE_SOLUTION_KEYS[:2])  # a bare route is checked on replay
    if kind is not None:
        validate_solution(kind, doc)
    return None, None, doc


def admitted_plan(
    instance: Instance, solution: dict[str, Any], request_id: str | None = None
) -> dict[str, Any]:
    """The plan a T-FAM solution admitted for a federated request, as the solution states it.

    Parameters
    ----------
    instance
        The instance the solution admits requests of.
    solution
        A T-FAM solution: ``{"admitted": {request: plan index}, "plans": [...]}``, each plan
        ``{"request", "plan", "clients" or "route", "start", "finish", "label"}``.
    request_id
        The federated request; default the first admitted federated request of the instance.

    Returns
    -------
    dict
        The solution's entry of that request in ``solution["plans"]``.

    Raises
    ------
    InputError
        A malformed solution (``solution.admitted``, ``solution.plans[k]``), a request that is
        not an admitted federated one (``request``), a solution that admits none, or one written
        before T-FAM solutions stated their plans (``solution.plans``: solve the batch again).

    Notes
    -----
    The replay executes the decision as it is written: it neither re-solves the admission
    problem nor parses plan labels (``{h1,h2} +30s``). O(number of plans).

    Examples
    --------
    >>> from daitn_opt.drrt.instance import load_instance
    >>> inst = load_instance("instances/healthcare-small.json")
    >>> sol = {"admitted": {"r2": 0}, "refused": [], "plans": [
    ...     {"request": "r2", "plan": 0, "clients": ["h02", "h07"], "start": 0.0,
    ...      "finish": 40.0, "label": "{h02,h07}"}]}
    >>> admitted_plan(inst, sol)["clients"]
    ['h02', 'h07']
    >>> admitted_plan(inst, {"admitted": {"r2": 0}, "refused": []})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    daitn_opt.errors.InputError: solution.plans = None: the solution does not state its plans ...
    """
    validate_solution("tfam", solution)
    admitted = solution.get("admitted")
    if not isinstance(admitted, dict):
        raise InputError("solution.admitted", admitted, "expected a T-FAM solution")
    federated = [r.id for r in instance.requests if r.mode == "federated" and r.id in admitted]
    if request_id is not None:
        if request_id not in federated:
            raise InputError("request", request_id, "is not an admitted federated request")
        federated = [request_id]
    if not federated:
        raise InputError("solution.admitted", sorted(admitted), "admits no federated request")
    rid = federated[0]
    plans = solution.get("plans")
    if plans is None:
        raise InputError(
            "solution.plans",
            None,
            "the solution does not state its plans (written before T-FAM solutions carried "
            "them); solve the batch again",
        )
    if not isinstance(plans, list):
        raise InputError("solution.plans", type(plans).__name__, "expected a list of plans")
    for k, plan in enumerate(plans):
        if not isinstance(plan, dict) or "request" not in plan:
            raise InputError(f"solution.plans[{k}]", plan, "expected an object with 'request'")
        if plan["request"] != rid:
            continue
        if plan.get("plan", admitted[rid]) != admitted[rid]:
            raise InputError(
                f"solution.plans[{k}].plan", plan["plan"], f"{rid} is admitted with plan "
                f"{admitted[rid]}",
            )  # fmt: skip
        return plan
    raise InputError("solution.plans", rid, "the admitted request has no plan in the solution")


def admitted_clients(
    instance: Instance, solution: dict[str, Any], request_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """``(request, {"clients": [...]})`` of a federated request a T-FAM solution admitted.

    The client set is the admitted plan's (:func:`admitted_plan`); the request is
    ``request_id`` or the first admitted federated one.

    Raises
    ------
    InputError
        As :func:`admitted_plan`, and when the admitted plan is not a client set.
    """
    plan = admitted_plan(instance, solution, request_id)
    clients = plan.get("clients")
    if not isinstance(clients, list) or not clients or not all(isinstance(c, str) for c in clients):
        k = solution["plans"].index(plan)
        raise InputError(
            f"solution.plans[{k}].clients",
            clients,
            f"plan {plan.get('label', '')!r} is no client set",
        )
    return plan["request"], {"clients": list(clients)}


def _training_solution(
    instance: Instance, kind: str | None, request: str | None, solution: Any, mode: str
) -> tuple[str | None, Any]:
    """``(request, solution)`` a training replay in ``mode`` runs: a T-FAM decision's admitted
    client set for ``federated``, the MTRCE routes or client set as they are otherwise."""
    if kind == "tfam" and mode == "federated":
        request, solution = admitted_clients(instance, solution, request)
    if kind not in (None, "mtrce", "tfam") or (kind == "tfam" and mode != "federated"):
        raise InputError("solution.problem", kind, f"{mode} replay needs an mtrce solution")
    if request is not None and request not in {r.id for r in instance.requests}:
        raise InputError("solution.request", request, f"is not a request of {instance.name!r}")
    return request, solution


# Over 80 lines for its docstring (44 lines); the body is 28 lines.
def replay_document(
    instance: Instance,
    doc: Any,
    *,
    mode: str = "sequential",
    events: EventTimeline | None = None,
    seed: int = 0,
    policy: str = "static",
    model: str = "auto",
    request_id: str | None = None,
    threads: int | None = 1,
    horizon: float = 60.0,
    callback: Callback | None = None,
) -> Outcome | ServingOutcome:
    """Replay a solution document on ``instance`` in ``mode``, as ``daitn-opt replay`` does.

    ``sequential`` needs MTRCE routes; ``federated`` a client set (``{"clients": [...]}``), MTRCE
    routes (their data nodes become the clients) or a T-FAM decision (the client set of the
    plan it states for the admitted federated request, :func:`admitted_plan`); ``serving`` a
    QIRCE placement.

    Parameters
    ----------
    instance
        The instance the document decides on.
    doc
        A ``daitn-opt solve --json`` document or a bare solution (:func:`parse_document`).
    mode
        ``sequential``, ``federated`` or ``serving``.
    events, policy
        Network events and the policy that reacts to them (sequential; federated takes events).
    seed, model, threads
        The replay's seed, model and torch threads.
    request_id
        Overrides the document's request.
    horizon
        Simulated seconds of queries (serving).
    callback
        Receives every step (sequential and federated).

    Returns
    -------
    Outcome or ServingOutcome
        A training replay's outcome, with a note putting its accuracy next to the central
        ceiling (:func:`~.reference.ceiling_note`), or the serving outcome.

    Raises
    ------
    InputError
        One error naming the field: an unknown mode (``--mode``), a document of another kind
        (``solution.problem``) or instance (``solution.instance``), an unknown request
        (``solution.request``), events with a serving replay (``--events``), and every error of
        the replay it dispatches to.

    Notes
    -----
    Trains real models (the replay and the ceiling): no example here.
    """
    if mode not in MODES:
        raise InputError("--mode", mode, f"expected one of {list(MODES)}")
    kind, request, solution = parse_document(doc, instance)
    if mode == "serving":
        if kind not in (None, "qirce"):
            raise InputError("solution.problem", kind, "serving replays a qirce placement")
        if events is not None and len(events):
            raise InputError("--events", len(events), "serving replay does not take events")
        return replay_serving(
            instance, solution, horizon=horizon, seed=seed, label=kind or "placement"
        )
    request, solution = _training_solution(instance, kind, request_id or request, solution, mode)
    common: dict[str, Any] = {
        "request_id": request,
        "model": model,
        "seed": seed,
        "events": events,
        "threads": threads,
        "callback": callback,
    }
    if mode == "federated":
        outcome = replay_federated(instance, solution, label="federated", **common)
    else:
        outcome = replay_sequential(instance, solution, policy=policy, label=policy, **common)
    outcome.notes.append(
        ceiling_note(instance, outcome, request_id=request, model=model, seed=seed)
    )
    return outcome
