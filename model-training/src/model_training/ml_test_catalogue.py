"""The 28 items of the ML Test Score and the tests of this repository that cover each.

References are pytest node ids without parameters: a file, `file::test` or
`file::Class::test`. An item without references says why nothing covers it.
"""

from dataclasses import dataclass

SECTIONS = ("Features and data", "Model development", "ML infrastructure", "Monitoring")
# The paper's short names of the sections, as in "Data 1" or "Monitor 7".
SHORT_NAMES = dict(zip(SECTIONS, ("Data", "Model", "Infra", "Monitor"), strict=True))

ML = "model-training/tests/ml"
SCHEMA = f"{ML}/data/test_schema.py"
SPLITS = f"{ML}/data/test_splits.py"
COST = f"{ML}/data/test_feature_cost.py"
BEHAVIOUR = f"{ML}/model/test_behaviour.py"
QUALITY = f"{ML}/model/test_quality.py"
MUTAMORPHIC = f"{ML}/model/test_mutamorphic.py"
NONDETERMINISM = f"{ML}/model/test_nondeterminism.py"
BUDGETS = f"{ML}/monitoring/test_budgets.py"
PIPELINE = "model-training/tests/test_pipeline.py"
RELEASE = "model-training/tests/test_release.py"
LIB_ML = "lib-ml/tests/test_artifact_and_predictor.py"
RULES = "tests/monitoring/test_prometheus_rules.py"
HELM_SCRIPTS = "tests/helm/test_scripts.py"


@dataclass(frozen=True)
class Item:
    section: str
    number: int
    title: str
    tests: tuple[str, ...]
    note: str

    @property
    def key(self) -> str:
        return f"{SHORT_NAMES[self.section]} {self.number}"


ITEMS: tuple[Item, ...] = (
    Item(
        SECTIONS[0],
        1,
        "Feature expectations are captured in a schema",
        (
            f"{SCHEMA}::test_examples_follow_the_schema",
            f"{SCHEMA}::test_bad_examples_are_named",
            f"{SCHEMA}::test_the_schema_describes_every_lexical_feature_once",
            f"{SCHEMA}::test_lexical_features_of_real_urls_follow_the_schema",
            f"{SCHEMA}::test_a_broken_featurizer_is_caught",
            f"{SCHEMA}::test_a_feature_without_schema_is_caught",
            f"{SPLITS}::test_each_split_holds_both_labels_in_balance",
        ),
        "`model_training.data_checks`: every example is a URL that normalizes with a label in "
        "the label set, each split holds both labels in balance, and each of the 74 lexical "
        "features has a kind (count, flag, ratio, real) and bounds (`FEATURE_SCHEMA`). A "
        "featurizer returning negative lengths, NaN or fractional flags is caught, and so is a "
        "feature added without its expectation.",
    ),
    Item(
        SECTIONS[0],
        2,
        "All features are beneficial",
        (
            f"{COST}::test_every_feature_group_adds_value",
            f"{COST}::test_a_useless_feature_group_is_caught",
        ),
        "Permutation importance per feature group (hashed n-grams of the views, lexical "
        "features): what the ensemble's test ROC AUC loses when the group's inputs to its trees "
        "are shuffled across URLs must reach `tests.features.min_marginal_roc_auc`; a lexical "
        "group that says the same about every URL is caught. The 74 lexical features are not "
        "assessed one by one.",
    ),
    Item(
        SECTIONS[0],
        3,
        "No feature's cost is too much",
        (
            f"{COST}::test_every_feature_group_is_measured",
            f"{COST}::test_no_feature_group_costs_too_much",
        ),
        "Featurization time per URL and peak memory (memray) of each feature group stay within "
        "`model-training/tests/ml/budgets.yaml`; `phishline report feature-cost` writes the "
        "figures with the training time and marginal value of each group.",
    ),
    Item(
        SECTIONS[0],
        4,
        "Features adhere to meta-level requirements",
        (
            f"{SCHEMA}::test_features_need_no_network",
            f"{BEHAVIOUR}::test_invariance",
            f"{BEHAVIOUR}::test_invariance_catches_a_featurizer_that_reads_the_scheme",
        ),
        "The requirements: features come from the URL string alone (no DNS, WHOIS or page "
        "fetch, so serving never waits on the network nor leaks the URL), and the scheme, a "
        "collection artefact of the public corpora, is not a feature.",
    ),
    Item(
        SECTIONS[0],
        5,
        "The data pipeline has appropriate privacy controls",
        (),
        "Not covered. The training data are public URL corpora, and the feedback store keeps "
        "the URLs users submit with a random anonymous id. URLs can carry personal data in "
        "their query (Ebbu2017 phishing URLs hold `email=` parameters), and nothing removes "
        "it before training or a feedback export; no test checks it.",
    ),
    Item(
        SECTIONS[0],
        6,
        "New features can be added quickly",
        (),
        "Not covered. Adding a lexical feature is a change of `lib_ml.features` "
        "(`LEXICAL_FEATURES`, `lexical_vector`) plus its schema entry (enforced by "
        "`test_a_feature_without_schema_is_caught`), then `dvc repro`; artifacts record their "
        "feature list and older ones are refused by name. No test measures how long that "
        "takes.",
    ),
    Item(
        SECTIONS[0],
        7,
        "All input feature code is tested",
        (
            "lib-ml/tests/test_features.py",
            "lib-ml/tests/test_urls_and_labels.py",
            "lib-ml/tests/test_mutants.py",
        ),
        "lib-ml's normalizer, featurizer and URL rewrites have their own tests (hypothesis "
        "properties included); `make test` fails under 90 % branch coverage and `make "
        "mutation` reports lib-ml's mutation score in `reports/mutation.md`.",
    ),
    Item(
        SECTIONS[1],
        1,
        "Model specs are reviewed and submitted",
        (
            "model-training/tests/test_dvc.py::test_repro_builds_everything_and_second_run_does_nothing",
            f"{RELEASE}::test_the_repository_gates_the_ensemble_on_f1_and_roc_auc",
        ),
        "Every model specification is code or parameters under version control (params.yaml, "
        "`model_training.train`), and `dvc repro` rebuilds the models from them alone. Review "
        "itself is the pull-request process, which no test can check.",
    ),
    Item(
        SECTIONS[1],
        2,
        "Offline and online metrics correlate",
        (),
        'Not covered. The apps collect the online signal ("Is this prediction accurate?", '
        "`phishline_app_feedback_total`, `phishline feedback export`), but nothing compares "
        "it with the offline test metrics; that needs live traffic.",
    ),
    Item(
        SECTIONS[1],
        3,
        "All hyperparameters have been tuned",
        (),
        "Not covered. The hyperparameters in params.yaml are set by hand; early stopping on "
        "the validation split picks the number of trees, and there is no search or "
        "sensitivity test.",
    ),
    Item(
        SECTIONS[1],
        4,
        "The impact of model staleness is known",
        (),
        "Not covered. The corpora carry no timestamps, so a model cannot be evaluated on "
        "data newer than its training data; feedback exports could provide them later.",
    ),
    Item(
        SECTIONS[1],
        5,
        "A simpler model is not better",
        (
            f"{QUALITY}::test_a_simpler_model_is_not_better",
            f"{QUALITY}::test_a_broken_model_is_worse_than_the_baseline",
        ),
        "The ensemble's test ROC AUC is the highest among itself, each member alone and a "
        "logistic regression on URL length and character shares.",
    ),
    Item(
        SECTIONS[1],
        6,
        "Model quality is sufficient on important data slices",
        (
            f"{QUALITY}::test_quality_on_every_slice",
            f"{QUALITY}::test_a_model_weak_on_one_slice_is_caught",
            "model-training/tests/test_metrics.py::test_slices",
            f"{BEHAVIOUR}::test_minimum_functionality",
            f"{BEHAVIOUR}::test_minimum_functionality_catches_a_broken_model",
            f"{BEHAVIOUR}::test_directional_expectations",
            f"{BEHAVIOUR}::test_directional_expectations_catch_a_broken_model",
            f"{MUTAMORPHIC}::test_the_model_passes_the_oracle",
            f"{MUTAMORPHIC}::test_the_repaired_model_passes_the_strict_oracle",
            f"{MUTAMORPHIC}::test_the_oracle_catches_a_model_that_reads_the_string",
        ),
        "ROC AUC on every slice (scheme, URL length, TLD group) of the held-out URLs reaches "
        "`tests.model.min_slice_roc_auc`; CheckList-style behaviour (obvious phishing and "
        "well-known sites, phishing devices that must raise P(phishing)) and the mutamorphic "
        "oracle (semantics-preserving URL rewrites, with and without repair) stay within their "
        "failure and flip rates.",
    ),
    Item(
        SECTIONS[1],
        7,
        "The model is tested for considerations of inclusion",
        (
            f"{QUALITY}::test_sites_of_every_country_are_treated_alike",
            f"{QUALITY}::test_a_model_biased_against_country_code_sites_is_caught",
        ),
        "The false-positive rate on legitimate sites under country-code TLDs may exceed that "
        "under generic TLDs by at most `tests.model.max_false_positive_gap`. The gap is real: "
        "see the figure below.",
    ),
    Item(
        SECTIONS[2],
        1,
        "Training is reproducible",
        (
            f"{NONDETERMINISM}::test_a_rebuild_at_the_same_moment_is_byte_identical",
            f"{NONDETERMINISM}::test_a_trainer_that_ignores_its_seed_is_caught",
            f"{NONDETERMINISM}::test_f1_differs_little_between_seeds",
            f"{NONDETERMINISM}::test_an_unstable_training_is_caught",
            f"{PIPELINE}::test_the_stage_rebuilds_its_artifacts_byte_for_byte",
            f"{RELEASE}::test_bundle_is_byte_reproducible",
        ),
        "The same seed and build time (SOURCE_DATE_EPOCH) give byte-identical artifacts; the "
        "seeds of `tests.nondeterminism.seeds` give test F1 scores within "
        "`tests.nondeterminism.max_f1_spread`.",
    ),
    Item(
        SECTIONS[2],
        2,
        "Model specs are unit tested",
        (
            f"{LIB_ML}::test_tree_scorer_matches_lightgbm_exactly",
            f"{LIB_ML}::test_every_family_separates_clear_cases",
            f"{LIB_ML}::test_batch_equals_single_predictions",
            "model-training/tests/test_metrics.py",
        ),
        "The numpy tree scorer equals LightGBM's raw scores, every family separates clear "
        "cases after a small fit, and the metrics match hand-computed values.",
    ),
    Item(
        SECTIONS[2],
        3,
        "The ML pipeline is integration tested",
        (
            f"{PIPELINE}::test_models_are_trained_and_evaluated",
            "model-training/tests/test_dvc.py::test_repro_builds_everything_and_second_run_does_nothing",
            "tests/test_stack.py::test_up_serves_all_components_and_stops_cleanly",
        ),
        "get data, prepare, train and evaluate run end to end on real data (also through "
        "`dvc repro`), and `phishline up` serves the trained models.",
    ),
    Item(
        SECTIONS[2],
        4,
        "Model quality is validated before serving",
        (
            f"{RELEASE}::test_gate_refuses_and_exits_1",
            f"{RELEASE}::test_bundle_refuses_models_the_gate_refuses",
            "tests/helm/test_acceptance_script.py::test_a_wrong_label_fails",
        ),
        "The release gate refuses models under the test-metric floors of params.yaml, and the "
        "deployment's acceptance test checks answers of the served model.",
    ),
    Item(
        SECTIONS[2],
        5,
        "The model is debuggable",
        (
            f"{LIB_ML}::test_linear_explanations_name_ngrams_and_host_space",
            f"{LIB_ML}::test_tree_contributions_sum_to_the_logit_minus_root_values",
            "model-service/tests/test_api.py::test_predict_uses_the_default_model_and_explains",
        ),
        "Every prediction can be explained feature by feature: n-gram shares of the linear "
        "logit, path contributions of the trees; both add up to the logit.",
    ),
    Item(
        SECTIONS[2],
        6,
        "Models are canaried before serving",
        (
            "tests/helm/test_flagger.py::test_the_model_service_canary_follows_values",
            "tests/helm/test_flagger.py::test_every_metric_template_passes_and_fails_as_promtool_computes",
            f"{HELM_SCRIPTS}::test_a_canary_flagger_rolled_back_rolls_the_release_back",
        ),
        "Flagger shifts traffic to a new model-service step by step while its metric checks "
        "hold, and rolls back otherwise.",
    ),
    Item(
        SECTIONS[2],
        7,
        "Serving models can be rolled back",
        (
            f"{HELM_SCRIPTS}::test_rollback_to_the_previous_or_a_given_revision",
            f"{HELM_SCRIPTS}::test_a_failed_acceptance_test_rolls_back",
            "model-service/tests/test_registry.py::test_signal_reload_keeps_the_old_models_when_the_new_ones_are_bad",
        ),
        "A release returns to the previous (or a given) revision, automatically when its "
        "acceptance test fails, and model-service keeps serving its models when new ones are "
        "bad.",
    ),
    Item(
        SECTIONS[3],
        1,
        "Dependency changes result in notification",
        (),
        "Not covered. Dependencies are pinned with hashes (`make lock`), so nothing changes "
        "unnoticed, but no bot (Dependabot, Renovate) announces upstream releases or "
        "advisories, and upstream data changes are only caught by the sha256 of the raw "
        "files.",
    ),
    Item(
        SECTIONS[3],
        2,
        "Data invariants hold for inputs (training and serving)",
        (
            f"{SCHEMA}::test_examples_follow_the_schema",
            f"{SPLITS}::test_url_distributions_match_between_splits",
            f"{SPLITS}::test_a_split_by_url_length_is_caught",
            "model-service/tests/test_api.py::test_bad_batch_input_is_a_4xx_json_error",
            "model-service/tests/test_metrics.py::test_drift_is_exported_once_enough_urls_were_seen",
            f"{RULES}::test_every_alert_is_tested_firing_at_each_severity_and_silent",
        ),
        "Training data pass the schema and the distribution checks between splits; "
        "model-service refuses inputs that are not URLs, exports the PSI drift of live inputs "
        "against the training distribution, and an alert fires on drift.",
    ),
    Item(
        SECTIONS[3],
        3,
        "Training and serving are not skewed",
        (
            f"{QUALITY}::test_training_and_serving_agree",
            f"{QUALITY}::test_a_featurizer_changed_after_training_is_caught",
            f"{LIB_ML}::test_round_trip_is_byte_identical",
        ),
        "Training and serving share lib-ml's featurizer; the validation metrics recorded at "
        "training time equal those recomputed through the serving path.",
    ),
    Item(
        SECTIONS[3],
        4,
        "Models are not too stale",
        (),
        "Not covered. Artifacts record when they were built (`created`), but no metric "
        "exports a served model's age and no alert fires on it.",
    ),
    Item(
        SECTIONS[3],
        5,
        "Models are numerically stable",
        (
            f"{QUALITY}::test_models_are_numerically_stable",
            f"{QUALITY}::test_a_model_with_a_non_finite_weight_is_caught",
        ),
        "Weights are finite and scores stay in [0, 1] on extreme inputs (8 KiB URLs, 500 "
        "parameters, IPv6, IDN), with and without repair.",
    ),
    Item(
        SECTIONS[3],
        6,
        "Computing performance has not regressed",
        (
            BUDGETS,
            f"{RULES}::test_every_alert_is_tested_firing_at_each_severity_and_silent",
        ),
        "Time and peak memory (memray) of featurize, predict one, predict a batch and train "
        "stay within `model-training/tests/ml/budgets.yaml`; in production, latency alerts "
        "fire (tested with promtool).",
    ),
    Item(
        SECTIONS[3],
        7,
        "Prediction quality has not regressed",
        (
            f"{RELEASE}::test_gate_refuses_and_exits_1",
            f"{RULES}::test_every_alert_is_tested_firing_at_each_severity_and_silent",
        ),
        "Before release, the gate compares test metrics with their floors; in production, an "
        "alert fires when the share of users confirming predictions drops.",
    ),
)
