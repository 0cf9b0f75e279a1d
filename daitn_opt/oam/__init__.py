"""OAM (DA-ITN's Operations and Management layer): measured contributions -> utility estimates.

After a replay, :mod:`.measure` records what every hop contributed (validation-loss drop and
accuracy gain at the MPVU, Oort's statistical utility, the label agreement that estimates the
node's true quality); :mod:`.estimates` keeps per-(node, task) estimates with a stated update
rule and applies them to a planning problem (never inside a solver); :mod:`.aligned` plans for
time to target on the fitted outcome model with the estimates in it; :func:`run_oam` runs plan,
replay, measure, update for N rounds; :mod:`.truth` makes a ground-truth snapshot in which some
nodes over-reported, to test the loop.
"""

from .aligned import (
    AlignedPlanner,
    FixedScaleModel,
    PlannedRoute,
    estimated_basis,
    extend_route,
    fitted_planner,
    model_with_estimates,
    without_harmful,
)
from .estimates import Estimate, UtilityEstimates, mixture_posterior, shrink
from .loop import OAMResult, OAMRound, prior_estimates, run_oam
from .measure import (
    HopMeasurement,
    ObservedReplay,
    quality_from_agreement,
    quality_variance,
    split_holdout,
)
from .truth import Misreport, misreport

__all__ = [
    "AlignedPlanner",
    "Estimate",
    "FixedScaleModel",
    "HopMeasurement",
    "Misreport",
    "OAMResult",
    "OAMRound",
    "ObservedReplay",
    "PlannedRoute",
    "UtilityEstimates",
    "estimated_basis",
    "extend_route",
    "fitted_planner",
    "misreport",
    "mixture_posterior",
    "model_with_estimates",
    "prior_estimates",
    "quality_from_agreement",
    "quality_variance",
    "run_oam",
    "shrink",
    "split_holdout",
    "without_harmful",
]
