"""Per-(node, task) utility estimates learned from measured replays, and their update rule.

A data node reports its dataset's sample count and quality; the view turns them into the
planner's utility ``samples * quality`` (and, for the coverage objectives, into label mass
weighted by :func:`daitn_opt.mtrce.coverage.quality_weight`). OAM keeps, for each (node, task),
an estimate of both fields, starting from the report (the prior) and moved by what replays
measure (:mod:`.measure`).

Update rule (``formulations/oam.md``): precision weighting, i.e. Bayesian shrinkage of a normal
prior by normal measurements (a Kalman update without drift). Each field ``x`` in {samples,
quality} has a mean and a variance ``v``. The prior is the report with a variance that grows with
distrust:

    quality:  x_0 = reported quality,  v_0 = prior_sd^2 * (1 - trust) + floor_sd^2
    samples:  x_0 = reported samples,  v_0 = (prior_sd * reported samples)^2 * (1 - trust)
              + (floor_sd * reported samples)^2

A measurement ``o`` with variance ``s^2`` (its standard error squared, from :mod:`.measure`)
moves the estimate by the gain ``k = v / (v + s^2)``:

    x <- x + k (o - x),    v <- (1 - k) v        (k = 1 when s = 0: an exact measurement)

A precise measurement (``s^2 << v``) moves the estimate nearly all the way; a noisy one (a node
with three samples) little, and less for a trusted node. The sample count a node trained on is
read from the trace, so its measurement is exact (``s = 0``) and replaces the report. After
observations ``o_1 .. o_n`` the estimate is the precision-weighted mean
``(x_0 / v_0 + sum o_i / s_i^2) / (1 / v_0 + sum 1 / s_i^2)``, whatever their order. The
estimated utility is ``samples * quality``, the view's own formula on the estimated fields.

A second rule for the quality, ``rule="mixture"``, matches how a report goes wrong: a node is
either honest (its quality is the report, up to ``floor_sd``) or it over-reported (its quality is
anywhere in ``[0, report]``, uniform), with prior probability ``1 - trust`` of the latter
(:func:`mixture_posterior`). The measurements enter through their precision-weighted mean
``o_bar`` and variance ``s_bar^2 = 1 / sum 1 / s_i^2`` (sufficient for normal measurements):

    P(lie | o)  ~  (1 - trust) * (Phi((r - o_bar) / s_bar) - Phi(-o_bar / s_bar)) / r
    P(honest | o)  ~  trust * N(o_bar; r, s_bar^2 + floor_sd^2)

and the estimate is the posterior mean: ``P(honest) * m_h + P(lie) * m_l``, ``m_h`` the honest
component's precision-weighted mean, ``m_l`` the mean of ``N(o_bar, s_bar^2)`` truncated to ``[0,
r]``. An honest node measured imprecisely stays near its report (the Gaussian rule moved it by the
full gain every time, so noisy hops at honest few-sample nodes reshuffled the plans), while a
measurement far below the report, when precise enough to rule the honest case out, moves the
estimate all the way.

:meth:`UtilityEstimates.apply` returns a planning problem with the estimates in place of the
reports (``problem.replace(...)``): nothing inside a solver changes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

FORMAT = "daitn-opt/oam-estimates/2"
RULES = ("gaussian", "mixture")
"""Update rules of the quality (module doc); the sample count is always exact."""


def shrink(value: float, var: float, observed: float, obs_var: float) -> tuple[float, float]:
    """``(new value, new variance)``: the precision-weighted update of the module doc."""
    gain = 1.0 if obs_var <= 0 else (var / (var + obs_var) if var > 0 else 0.0)
    return value + gain * (observed - value), (1.0 - gain) * var


def mixture_posterior(
    report: float, trust: float, mean: float, var: float, floor_sd: float
) -> tuple[float, float, float]:
    """``(posterior mean, variance, P(lie))`` of a quality under the honest-or-liar prior of the
    module doc, given measurements of precision-weighted mean ``mean`` and variance ``var``."""
    from scipy.stats import norm, truncnorm

    r = min(max(float(report), 0.0), 1.0)
    prior_lie = min(max(1.0 - float(trust), 0.0), 1.0)
    sd = math.sqrt(max(var, 1e-12))
    # honest: N(r, floor^2) combined with N(mean, var)
    f2 = max(floor_sd, 1e-6) ** 2
    h_var = 1.0 / (1.0 / f2 + 1.0 / max(var, 1e-12))
    h_mean = h_var * (r / f2 + mean / max(var, 1e-12))
    log_h = norm.logpdf(mean, r, math.sqrt(var + f2))
    # liar: uniform on [0, r] times N(mean; q, var), i.e. a normal truncated to [0, r]
    if r <= 0:
        return h_mean, h_var, 0.0
    a, b = (0.0 - mean) / sd, (r - mean) / sd
    mass = max(float(norm.cdf(b) - norm.cdf(a)), 1e-300)
    log_l = math.log(mass) - math.log(r)
    if mass > 1e-12:
        l_mean = float(truncnorm.mean(a, b, loc=mean, scale=sd))
        l_var = float(truncnorm.var(a, b, loc=mean, scale=sd))
    else:  # the measurements lie far outside [0, r]: the nearer end
        l_mean, l_var = (0.0 if mean < 0 else r), 0.0
    if prior_lie <= 0:
        return h_mean, h_var, 0.0
    if prior_lie >= 1:
        return l_mean, l_var, 1.0
    lh, ll = math.log1p(-prior_lie) + log_h, math.log(prior_lie) + log_l
    top = max(lh, ll)
    wh, wl = math.exp(lh - top), math.exp(ll - top)
    p_lie = wl / (wh + wl)
    m = (1 - p_lie) * h_mean + p_lie * l_mean
    v = (1 - p_lie) * (h_var + h_mean**2) + p_lie * (l_var + l_mean**2) - m**2
    return min(1.0, max(0.0, m)), max(v, 0.0), p_lie


@dataclass
class Estimate:
    """What OAM believes about one node's data for one task.

    Attributes
    ----------
    node, task
        The key.
    reported_samples, reported_quality
        The node's report when the estimate was created (the prior).
    samples, quality
        Current estimates of the usable sample count and of the fraction of clean labels.
    samples_var, quality_var
        Variance of each estimate (its confidence; the prior's at first, see the module doc).
    samples_count, quality_count
        How many observations moved each field.
    last_quality
        The last observed quality (nan before any observation).
    trust
        The node's trust when the estimate was created (sets the prior variance).
    """

    node: str
    task: str
    reported_samples: float
    reported_quality: float
    samples: float
    quality: float
    samples_var: float = 0.0
    quality_var: float = 0.0
    samples_count: int = 0
    quality_count: int = 0
    last_quality: float = math.nan
    trust: float = 1.0
    quality_precision: float = 0.0
    """Sum of ``1 / s^2`` over the quality measurements (the mixture rule's statistics)."""
    quality_weighted: float = 0.0
    """Sum of ``o / s^2`` over the quality measurements."""
    lie_probability: float = math.nan
    """Posterior probability that the node over-reported (mixture rule; nan otherwise)."""

    @property
    def utility(self) -> float:
        """Estimated utility ``samples * quality`` (the view's formula)."""
        return self.samples * self.quality

    @property
    def reported_utility(self) -> float:
        return self.reported_samples * self.reported_quality

    @property
    def is_report(self) -> bool:
        """True while the estimate is the report itself (the planner then keeps the report's
        values bit for bit)."""
        return self.samples == self.reported_samples and self.quality == self.reported_quality


@dataclass
class UtilityEstimates:
    """A small, deterministic store of :class:`Estimate` keyed by (node, task).

    Parameters
    ----------
    prior_sd
        Standard deviation of a report of a fully distrusted node (trust 0), in quality units
        (for the sample count: as a share of the report); it scales with ``sqrt(1 - trust)``.
    floor_sd
        Standard deviation of every report, whatever the trust (> 0 keeps a fully trusted
        report movable).
    """

    prior_sd: float = 1.0
    floor_sd: float = 0.02
    entries: dict[tuple[str, str], Estimate] = field(default_factory=dict)
    rule: str = "gaussian"
    """How a quality measurement moves the estimate: ``gaussian`` (precision weighting of a
    normal prior) or ``mixture`` (honest-or-liar prior; see the module doc)."""

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError("rule", self.rule, f"expected one of {RULES}")
        for name in ("prior_sd", "floor_sd"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(name, value, "must be a finite number >= 0")

    def prior_variance(self, trust: float) -> float:
        """Variance of a reported quality from a node of this trust (see the module doc)."""
        return self.prior_sd**2 * (1.0 - trust) + self.floor_sd**2

    # -- access ---------------------------------------------------------------------------------
    def get(self, node: str, task: str) -> Estimate | None:
        return self.entries.get((node, task))

    def ensure(
        self, node: str, task: str, samples: float, quality: float, trust: float = 1.0
    ) -> Estimate:
        """The estimate of (node, task), created from the report (the prior, its variance from
        ``trust``) when it does not exist yet."""
        _check_fields(node, samples, quality)
        if not (isinstance(trust, int | float) and 0 <= trust <= 1):
            raise InputError("trust", trust, "must be in [0, 1]")
        key = (node, task)
        if key not in self.entries:
            v = self.prior_variance(float(trust))
            self.entries[key] = Estimate(
                node, task, float(samples), float(quality), float(samples), float(quality),
                samples_var=v * float(samples) ** 2, quality_var=v, trust=float(trust),
            )  # fmt: skip
        return self.entries[key]

    def observe(
        self,
        node: str,
        task: str,
        *,
        samples: float | None = None,
        quality: float | None = None,
        samples_var: float = 0.0,
        quality_var: float = 0.0,
    ) -> Estimate:
        """Apply the update rule to the measured ``samples`` and/or ``quality`` of a node, with
        the measurements' variances (0: exact, the measurement replaces the estimate).

        The estimate must exist (:meth:`ensure` creates it from the report).
        """
        for name, var in (("samples_var", samples_var), ("quality_var", quality_var)):
            if not (math.isfinite(var) and var >= 0):
                raise InputError(name, var, "must be a finite number >= 0")
        est = self.entries.get((node, task))
        if est is None:
            raise InputError("node", node, f"has no estimate for task {task!r} (call ensure)")
        if samples is not None:
            if not (math.isfinite(samples) and samples >= 0):
                raise InputError("samples", samples, "must be a finite number >= 0")
            est.samples, est.samples_var = shrink(
                est.samples, est.samples_var, float(samples), samples_var
            )
            est.samples_count += 1
        if quality is not None:
            if not (math.isfinite(quality) and 0 <= quality <= 1):
                raise InputError("quality", quality, "must be in [0, 1]")
            if self.rule == "mixture":
                w = 1.0 / max(quality_var, 1e-12)
                est.quality_precision += w
                est.quality_weighted += w * float(quality)
                mean = est.quality_weighted / est.quality_precision
                est.quality, est.quality_var, est.lie_probability = mixture_posterior(
                    est.reported_quality,
                    est.trust,
                    mean,
                    1.0 / est.quality_precision,
                    self.floor_sd,
                )
            else:
                est.quality, est.quality_var = shrink(
                    est.quality, est.quality_var, float(quality), quality_var
                )
            est.quality_count += 1
            est.last_quality = float(quality)
        return est

    # -- planning -------------------------------------------------------------------------------
    def apply(self, problem: Any, task: str, drop_below: float | None = None) -> Any:
        """``problem`` with the estimated utilities of ``task`` in place of the reported ones.

        For every node of ``problem.ids`` with an observed estimate: ``utility[i]`` becomes the
        estimated ``samples * quality``; when the problem carries ``label_mass`` (coverage
        objectives), row i is scaled by ``(samples / reported samples) * (w_q(quality) /
        w_q(reported quality))`` with :func:`~daitn_opt.mtrce.coverage.quality_weight` (the
        weight the coverage mass uses). Nodes without an observation keep their values.

        ``drop_below``: nodes whose observed quality estimate is below it are removed from the
        problem (the view's own quality threshold, applied to what was measured instead of what
        was reported); the start, the end and mandatory nodes are kept. Nothing else changes.
        """
        from ..mtrce.coverage import quality_weight

        ids = list(problem.ids)
        utility = np.array(problem.utility, dtype=np.float64, copy=True)
        mass = problem.label_mass
        mass = None if mass is None else np.array(mass, dtype=np.float64, copy=True)
        labels = 2 if mass is None else max(2, mass.shape[1])
        keep = np.ones(len(ids), dtype=bool)
        protected = {problem.start, problem.end, *(int(m) for m in problem.mandatory)}
        for i, node in enumerate(ids):
            est = self.entries.get((node, task))
            if est is None or est.is_report:
                continue  # no observation yet: the report stands, bit for bit
            utility[i] = est.utility
            if mass is not None:
                w_rep = float(quality_weight(np.array([est.reported_quality]), labels)[0])
                w_est = float(quality_weight(np.array([est.quality]), labels)[0])
                ratio = est.samples / est.reported_samples if est.reported_samples > 0 else 0.0
                mass[i] *= ratio * (w_est / w_rep if w_rep > 0 else 0.0)
            if drop_below is not None and est.quality_count and est.quality < drop_below:
                keep[i] = i in protected
        changes: dict[str, Any] = {"utility": utility}
        if mass is not None:
            changes["label_mass"] = mass
        out = problem.replace(**changes)
        return out if keep.all() else out.restrict(np.flatnonzero(keep).tolist())

    def optimistic(self, z: float) -> UtilityEstimates:
        """A copy whose every quality is raised by ``z`` standard deviations (at most 1): the
        estimates an exploring round plans on (upper confidence bounds; an unmeasured node of
        low trust looks better than its report, a measured one little above its estimate)."""
        out = self.copy()
        if z:
            for e in out.entries.values():
                e.quality = min(1.0, e.quality + z * math.sqrt(e.quality_var))
        return out

    # -- persistence ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        rows = []
        for key in sorted(self.entries):
            row = asdict(self.entries[key])
            for name in NAN_FIELDS:
                row[name] = None if math.isnan(row[name]) else row[name]
            rows.append(row)
        return {
            "format": FORMAT,
            "prior_sd": self.prior_sd,
            "floor_sd": self.floor_sd,
            "rule": self.rule,
            "estimates": rows,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    def copy(self) -> UtilityEstimates:
        return UtilityEstimates.from_dict(self.to_dict())

    @classmethod
    def from_dict(cls, doc: Any) -> UtilityEstimates:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise InputError("format", got, f"expected {FORMAT!r}")
        out = cls(
            float(doc.get("prior_sd", 1.0)),
            float(doc.get("floor_sd", 0.02)),
            rule=doc.get("rule", "gaussian"),
        )
        rows = doc.get("estimates", [])
        if not isinstance(rows, list):
            raise InputError("estimates", type(rows).__name__, "expected a list")
        names = set(Estimate.__dataclass_fields__)
        for k, row in enumerate(rows):
            # rows written before the mixture rule lack its fields (their defaults apply)
            if not isinstance(row, dict) or not names - set(MIXTURE_FIELDS) <= set(row) <= names:
                raise InputError(f"estimates[{k}]", row, f"expected the fields {sorted(names)}")
            row = dict(row)
            for name in NAN_FIELDS:
                value = row.get(name)
                row[name] = math.nan if value is None else value
            est = Estimate(**row)
            _check_fields(est.node, est.samples, est.quality, f"estimates[{k}]")
            out.entries[(est.node, est.task)] = est
        return out

    @classmethod
    def from_json(cls, text: str) -> UtilityEstimates:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError("estimates", text[:40], f"not JSON: {exc.msg}") from None
        return cls.from_dict(doc)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> UtilityEstimates:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError("estimates", str(path), f"cannot be read: {exc.strerror}") from None
        return cls.from_json(text)


NAN_FIELDS = ("last_quality", "lie_probability")
"""Fields that are nan until set (null in JSON)."""
MIXTURE_FIELDS = ("quality_precision", "quality_weighted", "lie_probability")
"""Fields a row may omit (added with the mixture rule)."""


def _check_fields(node: str, samples: float, quality: float, where: str = "") -> None:
    prefix = f"{where}." if where else ""
    if not isinstance(node, str) or not node:
        raise InputError(f"{prefix}node", node, "expected a non-empty node id")
    if not (isinstance(samples, int | float) and math.isfinite(samples) and samples >= 0):
        raise InputError(f"{prefix}samples", samples, "must be a finite number >= 0")
    if not (isinstance(quality, int | float) and 0 <= quality <= 1):
        raise InputError(f"{prefix}quality", quality, "must be in [0, 1]")
