"""`phishline.experiment.plan`: sample size for two proportions, checked by simulation too."""

import random
import re

import pytest

from phishline.experiment.analyze import VariantData, fixed_horizon
from phishline.experiment.plan import Plan, alternative_share, plan, sample_size


@pytest.mark.parametrize(
    ("p1", "p2", "expected"),
    [
        (0.5, 0.6, 388),  # Fleiss' formula without continuity correction: 387.3
        (0.8, 0.75, 1094),
        (0.2, 0.3, 294),
    ],
)
def test_sample_size_matches_the_textbook_formula(p1: float, p2: float, expected: int) -> None:
    assert sample_size(p1, p2, alpha=0.05, power=0.8) == expected


def test_more_power_or_a_smaller_effect_needs_more_users() -> None:
    assert sample_size(0.8, 0.75, 0.05, 0.9) > sample_size(0.8, 0.75, 0.05, 0.8)
    assert sample_size(0.8, 0.78, 0.05, 0.8) > sample_size(0.8, 0.75, 0.05, 0.8)
    assert sample_size(0.8, 0.75, 0.01, 0.8) > sample_size(0.8, 0.75, 0.05, 0.8)


def test_the_alternative_is_taken_on_the_side_nearer_one_half() -> None:
    assert alternative_share(0.8, 0.05) == pytest.approx(0.75)
    assert alternative_share(0.3, 0.05) == pytest.approx(0.35)
    assert alternative_share(0.5, 0.1) == pytest.approx(0.6)  # at 1/2 itself: upwards
    assert sample_size(0.8, 0.75, 0.05, 0.8) > sample_size(0.8, 0.85, 0.05, 0.8)


def test_assigned_users_and_duration_follow_from_the_answering_share() -> None:
    sized = plan(0.5, 0.1, answering_share=0.25, users_per_day=200)
    assert sized.answering_users_per_variant == 388
    assert sized.assigned_users_per_variant == 1552
    assert sized.days == 16  # 3104 users over both variants at 200 a day
    assert sized.expected_control_share == 0.5
    assert sized.minimum_detectable_effect == pytest.approx(0.1)
    assert plan(0.5, 0.1).days is None


@pytest.mark.parametrize("v1_share", [0.9, 0.1])
def test_the_variant_with_fewer_new_users_sets_the_duration(v1_share: float) -> None:
    sized = plan(0.5, 0.1, answering_share=0.25, users_per_day=200, expected_control_share=v1_share)
    assert sized.assigned_users_per_variant == 1552  # the split changes the days only
    assert sized.smaller_share == pytest.approx(0.1)
    assert sized.days == 78  # the smaller variant gets 20 users a day: 1552 / 20 = 77.6


def test_whole_users_are_not_rounded_up_by_a_float_error() -> None:
    # 21 answering users when 70 % of users answer are 30 users; in floats 21 / 0.7 is
    # 30.000000000000004.
    sized = Plan(0.5, 0.6, 0.05, 0.8, 21, 0.7, None, 0.5)
    assert sized.assigned_users_per_variant == 30
    assert Plan(0.5, 0.6, 0.05, 0.8, 22, 0.7, None, 0.5).assigned_users_per_variant == 32


def test_a_duration_of_whole_days_is_not_rounded_up_by_a_float_error() -> None:
    # 388 users at 9.7 a day (10 % of 97) is 40 days; in floats 1 - 0.9 gives 40.00000000000001.
    sized = plan(0.5, 0.1, users_per_day=97, expected_control_share=0.9)
    assert sized.assigned_users_per_variant == 388
    assert sized.days == 40


BASELINE = "the baseline share must be between 0 and 1"
EFFECT = "the minimum detectable effect must be positive and keep the share in (0, 1)"
ALPHA_POWER = "alpha and power must be between 0 and 1"
ANSWERING = "the answering share must be in (0, 1]"
USERS = "users per day must be a positive number"
CONTROL = "the expected v1 share must be in (0, 1)"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"baseline": 0.0, "mde": 0.05}, BASELINE),
        ({"baseline": 1.0, "mde": 0.05}, BASELINE),
        ({"baseline": 0.5, "mde": 0.0}, EFFECT),
        ({"baseline": 0.5, "mde": 0.6}, EFFECT),
        ({"baseline": 0.5, "mde": 0.5}, EFFECT),  # the alternative would be 1
        ({"baseline": 0.6, "mde": 0.6}, EFFECT),  # the alternative would be 0
        ({"baseline": 0.5, "mde": 0.05, "alpha": 0.0}, ALPHA_POWER),
        ({"baseline": 0.5, "mde": 0.05, "alpha": 1.0}, ALPHA_POWER),
        ({"baseline": 0.5, "mde": 0.05, "power": 0.0}, ALPHA_POWER),
        ({"baseline": 0.5, "mde": 0.05, "power": 1.0}, ALPHA_POWER),
        ({"baseline": 0.5, "mde": 0.05, "answering_share": 0.0}, ANSWERING),
        ({"baseline": 0.5, "mde": 0.05, "answering_share": 1.5}, ANSWERING),
        ({"baseline": 0.5, "mde": 0.05, "users_per_day": 0.0}, USERS),
        # Typer reads "nan" and "inf" as floats: NaN ended the command in a traceback, an
        # infinite traffic planned 0 days.
        ({"baseline": 0.5, "mde": 0.05, "users_per_day": float("nan")}, USERS),
        ({"baseline": 0.5, "mde": 0.05, "users_per_day": float("inf")}, USERS),
        ({"baseline": 0.5, "mde": 0.05, "expected_control_share": 0.0}, CONTROL),
        ({"baseline": 0.5, "mde": 0.05, "expected_control_share": 1.0}, CONTROL),
    ],
)
def test_impossible_plans_are_refused(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        plan(**arguments)


def test_the_edges_of_the_allowed_ranges_are_planned() -> None:
    # Everyone answers, and half a new user a day: 388 users at 0.25 a day per variant.
    sized = plan(0.5, 0.1, answering_share=1.0, users_per_day=0.5)
    assert sized.assigned_users_per_variant == 388
    assert sized.days == 1552


def test_the_planned_size_gives_the_planned_power_in_simulation() -> None:
    """At the planned size, the analysis' z-test detects the effect about 80 % of the time."""
    rng = random.Random(7)
    sized = plan(0.5, 0.1)
    n = sized.answering_users_per_variant
    runs, detected = 300, 0
    for _ in range(runs):
        yes_v1 = sum(rng.random() < sized.baseline for _ in range(n))
        yes_v2 = sum(rng.random() < sized.alternative for _ in range(n))
        comparison = fixed_horizon(
            VariantData.from_answers("v1", n, yes_v1, n),
            VariantData.from_answers("v2", n, yes_v2, n),
            alpha=0.05,
        )
        detected += comparison.p_value < 0.05
    assert 0.72 <= detected / runs <= 0.88
