"""How many users the experiment needs: a two-sided test of two proportions.

The metric is a user's share of "yes" answers. Planned as if each user answered once (a
Bernoulli outcome, the largest variance a share can have for its mean), so users who
answer more often only make the test more powerful than planned.
"""

from dataclasses import dataclass
from math import ceil, inf, sqrt
from statistics import NormalDist

STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class Plan:
    baseline: float  # expected yes share of the control (v1)
    alternative: float  # the share the test must tell apart from it
    alpha: float
    power: float
    answering_users_per_variant: int
    answering_share: float  # of assigned users, the share who ever answer
    users_per_day: float | None  # new users a day over both variants
    expected_control_share: float  # of new users, the share routed to the control (v1)

    @property
    def minimum_detectable_effect(self) -> float:
        return abs(self.alternative - self.baseline)

    @property
    def assigned_users_per_variant(self) -> int:
        # Rounded first, as `days`: 21 / 0.7 is 30.000000000000004 in floats, not 31 users.
        return ceil(round(self.answering_users_per_variant / self.answering_share, 9))

    @property
    def smaller_share(self) -> float:
        """The share of new users that the variant with fewer of them gets."""
        return min(self.expected_control_share, 1 - self.expected_control_share)

    @property
    def days(self) -> int | None:
        """Days of traffic until both variants have their users, if the traffic is known: the
        variant that gets the smaller share of new users is the last to have them."""
        if self.users_per_day is None:
            return None
        days = self.assigned_users_per_variant / (self.users_per_day * self.smaller_share)
        # Rounded first, so that a float error (1 - 0.9 is 0.09999999999999998) adds no day.
        return ceil(round(days, 9))


def alternative_share(baseline: float, mde: float) -> float:
    """The alternative on the side nearer 1/2: its larger variance needs more users, so the
    plan holds whichever way the difference goes."""
    return baseline - mde if baseline > 0.5 else baseline + mde


def sample_size(p1: float, p2: float, alpha: float, power: float) -> int:
    """Units per group for a two-sided two-proportion z-test (normal approximation, pooled
    variance under H0; Fleiss, Statistical Methods for Rates and Proportions, 3rd ed., 4.14)."""
    z_alpha = STANDARD_NORMAL.inv_cdf(1 - alpha / 2)
    z_power = STANDARD_NORMAL.inv_cdf(power)
    pooled = (p1 + p2) / 2
    spread = z_alpha * sqrt(2 * pooled * (1 - pooled)) + z_power * sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return ceil(spread**2 / (p1 - p2) ** 2)


def plan(
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    answering_share: float = 1.0,
    users_per_day: float | None = None,
    expected_control_share: float = 0.5,
) -> Plan:
    """The sample size to detect an absolute difference `mde` from the `baseline` share."""
    if not 0 < baseline < 1:
        raise ValueError("the baseline share must be between 0 and 1")
    alternative = alternative_share(baseline, mde)
    if mde <= 0 or not 0 < alternative < 1:
        raise ValueError(
            "the minimum detectable effect must be positive and keep the share in (0, 1)"
        )
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be between 0 and 1")
    if not 0 < answering_share <= 1:
        raise ValueError("the answering share must be in (0, 1]")
    if users_per_day is not None and not 0 < users_per_day < inf:  # NaN fails too
        raise ValueError("users per day must be a positive number")
    if not 0 < expected_control_share < 1:
        raise ValueError("the expected v1 share must be in (0, 1)")
    return Plan(
        baseline=baseline,
        alternative=alternative,
        alpha=alpha,
        power=power,
        answering_users_per_variant=sample_size(baseline, alternative, alpha, power),
        answering_share=answering_share,
        users_per_day=users_per_day,
        expected_control_share=expected_control_share,
    )
