"""`phishline.experiment.analyze` on simulated experiments, one per possible decision, and
its statistics against independent implementations (scipy)."""

import random
import statistics

import pytest
from scipy import stats

from phishline.experiment.analyze import (
    DECISIONS,
    INVALID_SRM,
    MIN_UNITS,
    NO_PREFERENCE,
    VariantData,
    always_valid,
    analyze,
    fixed_horizon,
    srm_check,
)


def simulate_users(rng: random.Random, users: int, yes_probability: float) -> list[tuple[int, int]]:
    """(yes, answers) per user: 1 to 5 answers each, each "yes" with the given probability."""
    answered = []
    for _ in range(users):
        answers = rng.randint(1, 5)
        answered.append((sum(rng.random() < yes_probability for _ in range(answers)), answers))
    return answered


def simulated(
    seed: int, p_v1: float, p_v2: float, users: tuple[int, int] = (400, 400)
) -> tuple[VariantData, VariantData]:
    rng = random.Random(seed)
    return (
        VariantData.from_users("v1", users[0], simulate_users(rng, users[0], p_v1)),
        VariantData.from_users("v2", users[1], simulate_users(rng, users[1], p_v2)),
    )


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "mSPRT"])
@pytest.mark.parametrize(
    ("p_v1", "p_v2", "users", "decision"),
    [
        (0.85, 0.70, (400, 400), "reject H0: users prefer v1"),
        (0.70, 0.85, (400, 400), "reject H0: users prefer v2"),
        (0.80, 0.80, (400, 400), NO_PREFERENCE),
        # A clear preference, but 1000 : 850 users for a 50/50 split: the data are broken.
        (0.85, 0.70, (1000, 850), INVALID_SRM),
    ],
    ids=["prefer v1", "prefer v2", "no preference", "SRM"],
)
def test_each_simulated_experiment_gets_its_decision(
    p_v1: float, p_v2: float, users: tuple[int, int], decision: str, sequential: bool
) -> None:
    v1, v2 = simulated(11, p_v1, p_v2, users)
    result = analyze(v1, v2, sequential=sequential)
    assert result.decision == decision
    assert result.decision in DECISIONS


def test_per_user_summary_is_the_mean_and_variance_of_user_shares() -> None:
    answered = [(1, 1), (0, 2), (2, 3), (4, 4)]
    shares = [1.0, 0.0, 2 / 3, 1.0]
    variant = VariantData.from_users("v1", 10, answered)
    assert variant.units == 4
    assert variant.answers == 10
    assert variant.yes == 7
    assert variant.mean == pytest.approx(statistics.mean(shares))
    assert variant.variance == pytest.approx(statistics.variance(shares))
    assert VariantData.from_users("v1", 0, []).standard_error == 0.0


def test_per_answer_summary_is_the_mean_and_variance_of_the_answers() -> None:
    answers = [1] * 3 + [0] * 7
    variant = VariantData.from_answers("v1", 10, yes=3, answers=10)
    assert variant.units == 10
    assert variant.mean == pytest.approx(statistics.mean(answers))
    assert variant.variance == pytest.approx(statistics.variance(answers))
    assert VariantData.from_answers("v1", 1, yes=1, answers=1).variance == 0.0
    assert VariantData.from_answers("v1", 2, yes=1, answers=2).variance == pytest.approx(0.5)


def test_a_single_user_has_a_share_but_no_variance() -> None:
    variant = VariantData.from_users("v1", 1, [(1, 2)])
    assert variant.mean == 0.5
    assert variant.variance == 0.0
    two = VariantData.from_users("v1", 2, [(1, 2), (1, 1)])
    assert two.variance == pytest.approx(statistics.variance([0.5, 1.0]))


def test_a_variant_without_answers_summarises_to_zero() -> None:
    for variant in (
        VariantData.from_users("v1", 5, []),
        VariantData.from_answers("v1", 5, yes=0, answers=0),
    ):
        assert (variant.units, variant.mean, variant.variance) == (0, 0.0, 0.0)
    empty = srm_check(0, 0)
    assert (empty.chi_squared, empty.p_value, empty.mismatch) == (0.0, 1.0, False)


def test_srm_mismatch_starts_at_p_0_001() -> None:
    assert not srm_check(5000, 5330).mismatch  # p = 0.0012
    assert srm_check(5000, 5340).mismatch  # p = 0.0009


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "mSPRT"])
def test_thirty_users_in_each_variant_are_enough_to_test(sequential: bool) -> None:
    def variant(name: str, users: int) -> VariantData:
        return VariantData.from_users(name, users, [(1, 1)] * (users - 1) + [(0, 1)])

    assert analyze(
        variant("v1", 30), variant("v2", 30), sequential=sequential
    ).comparison.enough_data
    short = analyze(variant("v1", 30), variant("v2", 29), sequential=sequential)
    assert not short.comparison.enough_data


def test_analyze_runs_the_chosen_test_with_the_given_options() -> None:
    v1, v2 = simulated(3, 0.80, 0.74)
    assert analyze(v1, v2).comparison == fixed_horizon(v1, v2, alpha=0.05)
    assert analyze(v1, v2, alpha=0.01).comparison == fixed_horizon(v1, v2, alpha=0.01)
    sequential = analyze(v1, v2, sequential=True, tau=0.1).comparison
    assert sequential == always_valid(v1, v2, alpha=0.05, tau=0.1)


def test_srm_check_agrees_with_scipy() -> None:
    check = srm_check(600, 400, 0.5)
    assert check.chi_squared == pytest.approx(stats.chisquare([600, 400], [500, 500]).statistic)
    assert check.p_value == pytest.approx(stats.binomtest(600, 1000, 0.5).pvalue)
    assert check.mismatch
    uneven = srm_check(900, 100, 0.9)  # a planned 90/10 split, met exactly
    assert uneven.p_value == pytest.approx(1.0)
    assert not uneven.mismatch
    assert srm_check(0, 0).p_value == 1.0


@pytest.mark.parametrize("share", [0.5, 0.9, 0.99])
def test_srm_false_alarms_stay_under_one_in_a_thousand_with_few_users(share: float) -> None:
    # Under H0 the number of users in v1 is binomial: the chance of "mismatch" is computed
    # exactly, for every number of users up to 60. The chi-squared approximation gave p < 0.001
    # for 1 : 3 at a planned 90 % (exactly, p = 0.0037) and 0 : 2 (p = 0.01): up to one false
    # alarm in a hundred with the chart's 90/10 split, and one in fifteen at 99/1.
    for total in range(1, 61):
        counts = range(total + 1)
        false_alarms = sum(
            stats.binom.pmf(control, total, share)
            for control in counts
            if srm_check(control, total - control, share).mismatch
        )
        assert false_alarms <= 0.001 * (1 + 1e-9), total
    for control, total in [(1, 4), (0, 2), (30, 40), (7, 12)]:
        check = srm_check(control, total - control, share)
        assert check.p_value == pytest.approx(stats.binomtest(control, total, share).pvalue)


def test_srm_threshold_is_one_in_a_thousand() -> None:
    # Exact binomial p-values; chi-squared 10.83 (p = 0.001 at one degree of freedom) is close.
    assert not srm_check(5000, 5200).mismatch  # p = 0.049
    assert srm_check(5000, 5400).mismatch  # p = 9e-5


def test_fixed_horizon_test_agrees_with_scipy() -> None:
    v1 = VariantData.from_answers("v1", 500, yes=400, answers=500)
    v2 = VariantData.from_answers("v2", 500, yes=370, answers=500)
    comparison = fixed_horizon(v1, v2, alpha=0.05)
    se = (v1.variance / 500 + v2.variance / 500) ** 0.5
    assert comparison.difference == pytest.approx(-0.06)
    assert comparison.standard_error == pytest.approx(se)
    assert comparison.p_value == pytest.approx(2 * stats.norm.sf(0.06 / se))
    assert comparison.ci_low == pytest.approx(-0.06 - stats.norm.ppf(0.975) * se)
    assert comparison.ci_high == pytest.approx(-0.06 + stats.norm.ppf(0.975) * se)
    # The interval excludes 0 exactly when the test rejects.
    assert (comparison.ci_high < 0) == (comparison.p_value < 0.05)


def test_always_valid_inference_is_more_cautious_than_one_look() -> None:
    v1, v2 = simulated(3, 0.80, 0.74)
    fixed = fixed_horizon(v1, v2, alpha=0.05)
    sequential = always_valid(v1, v2, alpha=0.05, tau=0.05)
    assert sequential.p_value > fixed.p_value
    assert sequential.ci_low < fixed.ci_low < fixed.ci_high < sequential.ci_high
    assert sequential.difference == fixed.difference


def test_always_valid_p_value_follows_the_mixture_likelihood_ratio() -> None:
    v1 = VariantData.from_answers("v1", 1000, yes=800, answers=1000)
    v2 = VariantData.from_answers("v2", 1000, yes=740, answers=1000)
    variance = v1.variance / 1000 + v2.variance / 1000
    tau = 0.05
    # Likelihood ratio of N(d; 0, V + tau^2) against N(d; 0, V) at the observed d.
    ratio = stats.norm.pdf(-0.06, scale=(variance + tau**2) ** 0.5) / stats.norm.pdf(
        -0.06, scale=variance**0.5
    )
    comparison = always_valid(v1, v2, alpha=0.05, tau=tau)
    assert comparison.p_value == pytest.approx(min(1.0, 1 / ratio))
    # The interval holds the differences theta whose test (of d - theta against 0) keeps
    # the ratio under 1 / alpha: its ends sit on that boundary.
    for end in (comparison.ci_low, comparison.ci_high):
        shifted = comparison.difference - end
        at_end = stats.norm.pdf(shifted, scale=(variance + tau**2) ** 0.5) / stats.norm.pdf(
            shifted, scale=variance**0.5
        )
        assert at_end == pytest.approx(1 / 0.05)


def test_repeated_looks_inflate_the_fixed_test_but_not_msprt() -> None:
    """A/A experiments looked at 10 times: stopping at the first p < 0.05 of the fixed test
    declares far more false winners than alpha; the always-valid test stays under it."""
    rng = random.Random(5)
    runs, looks, answers_per_look = 200, 10, 100
    false_fixed = false_sequential = 0
    for _ in range(runs):
        yes = [0, 0]
        fixed_rejected = sequential_rejected = False
        for look in range(1, looks + 1):
            for arm in (0, 1):
                yes[arm] += sum(rng.random() < 0.8 for _ in range(answers_per_look))
            n = look * answers_per_look
            v1 = VariantData.from_answers("v1", n, yes[0], n)
            v2 = VariantData.from_answers("v2", n, yes[1], n)
            fixed_rejected |= fixed_horizon(v1, v2, 0.05).p_value < 0.05
            sequential_rejected |= always_valid(v1, v2, 0.05, tau=0.05).p_value < 0.05
        false_fixed += fixed_rejected
        false_sequential += sequential_rejected
    assert false_fixed / runs > 0.10
    assert false_sequential / runs <= 0.05


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "mSPRT"])
def test_too_few_users_decide_nothing(sequential: bool) -> None:
    v1 = VariantData.from_users("v1", MIN_UNITS - 1, [(1, 1)] * (MIN_UNITS - 1))
    v2 = VariantData.from_users("v2", MIN_UNITS - 1, [(0, 1)] * (MIN_UNITS - 2) + [(1, 1)])
    result = analyze(v1, v2, sequential=sequential)
    assert result.decision == NO_PREFERENCE
    assert not result.comparison.enough_data
    assert result.comparison.p_value == 1.0


def test_identical_answers_everywhere_decide_nothing() -> None:
    everyone_yes = [(2, 2)] * 100
    result = analyze(
        VariantData.from_users("v1", 100, everyone_yes),
        VariantData.from_users("v2", 100, everyone_yes),
    )
    assert result.decision == NO_PREFERENCE
    assert not result.comparison.enough_data


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "mSPRT"])
def test_a_variant_whose_users_all_answered_alike_decides_nothing(sequential: bool) -> None:
    # v1: 30 users all said yes; v2: 25 of 30. Its standard error of 0 made v1's 100 % look
    # exact: the z-test gave p = 0.016 and "users prefer v1", where Fisher's exact test
    # gives p = 0.052 on these same answers.
    v1 = VariantData.from_users("v1", 30, [(1, 1)] * 30)
    v2 = VariantData.from_users("v2", 30, [(1, 1)] * 25 + [(0, 1)] * 5)
    assert stats.fisher_exact([[30, 0], [25, 5]]).pvalue > 0.05
    result = analyze(v1, v2, sequential=sequential)
    assert not result.comparison.enough_data
    assert result.decision == NO_PREFERENCE


def test_a_planned_uneven_split_is_not_a_mismatch() -> None:
    v1, v2 = simulated(2, 0.85, 0.70, users=(900, 100))
    assert analyze(v1, v2).decision == INVALID_SRM
    assert analyze(v1, v2, expected_control_share=0.9).decision == "reject H0: users prefer v1"


@pytest.mark.parametrize(
    "options",
    [
        {"alpha": 0.0},
        {"alpha": 1.0},
        {"expected_control_share": 0.0},
        {"expected_control_share": 1.0},
        {"tau": 0.0},
        {"tau": float("nan")},
        {"tau": float("inf")},
        {"alpha": float("nan")},
    ],
)
def test_impossible_options_are_refused(options: dict[str, float]) -> None:
    v1, v2 = simulated(1, 0.8, 0.8)
    with pytest.raises(ValueError, match="alpha"):
        analyze(v1, v2, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "mSPRT"])
def test_users_who_all_answered_alike_with_an_inexact_share_decide_nothing(
    sequential: bool,
) -> None:
    # Every user of both variants said yes once out of 7 answers: the same data in both.
    # Summed as floats, 30 and 34 shares of 1/7 left means 6e-17 apart and variances of
    # about 1e-33 instead of 0: the z-test found p = 4e-15 and "users prefer v2".
    v1 = VariantData.from_users("v1", 30, [(1, 7)] * 30)
    v2 = VariantData.from_users("v2", 34, [(1, 7)] * 34)
    for variant in (v1, v2):
        assert (variant.mean, variant.variance) == (1 / 7, 0.0)
    result = analyze(v1, v2, sequential=sequential)
    assert not result.comparison.enough_data
    assert result.comparison.difference == 0.0
    assert result.decision == NO_PREFERENCE
