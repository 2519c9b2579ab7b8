"""Every release rule of lib_version.release, on plain values (no git)."""

import pytest

from lib_version.release import (
    Bump,
    InvalidTagError,
    Version,
    image_tags,
    is_latest,
    last_release,
    message_bump,
    parse_tags,
    plan_prerelease,
    plan_release,
    plan_tag,
    release_bump,
)


def v(tag: str) -> Version:
    return Version.parse(tag)


# Tags


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v0.0.0", Version(0, 0, 0)),
        ("v1.2.3", Version(1, 2, 3)),
        ("v10.20.30", Version(10, 20, 30)),
        ("v1.2.3-beta.1", Version(1, 2, 3, 1)),
        ("v1.2.3-beta.12", Version(1, 2, 3, 12)),
        ("v999999999999999999.0.0-beta.999999999999999999", Version(10**18 - 1, 0, 0, 10**18 - 1)),
    ],
)
def test_release_and_beta_tags_parse(tag: str, expected: Version) -> None:
    assert Version.parse(tag) == expected
    assert expected.tag == tag


@pytest.mark.parametrize(
    "tag",
    ["1.2.3", "v1.2", "v1.2.3.4", "v01.2.3", "v1.2.3-beta", "v1.2.3-beta.0", "v1.2.3-rc.1",
     "v1.2.3-beta.01", "v1.2.3 ", "model-v1.2.3", "", "v1.02.3", "v1.2.03", "v1-2-3",
     "v1.2.3-beta-1", "v1.2.3-beta.1-beta.2",
     # a final line break, and digits of other scripts, which \\d and int() took
     "v1.2.3\n", "v1\u0660.0.0", "v1.2\u0663.0", "v1.2.3\uff10", "v1.2.3-beta.1\u0661",
     # numbers over 18 digits (over 4,300, int() raised a ValueError of its own)
     "v1000000000000000000.0.0", "v1.2.3-beta.1000000000000000000", "v" + "1" * 5000 + ".0.0"],
)  # fmt: skip
def test_other_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidTagError, match="not a release tag"):
        Version.parse(tag)


def test_parse_tags_skips_foreign_tags_and_sorts_by_precedence() -> None:
    found = parse_tags(
        ["v1.10.0", "latest", "v1.2.0", "v1.2.0-beta.2", "v1.2.0-beta.10", "x", "v9\u0660.0.0"]
    )
    assert [str(x) for x in found] == ["1.2.0-beta.2", "1.2.0-beta.10", "1.2.0", "1.10.0"]


def test_parse_tags_reads_tags_with_surrounding_whitespace() -> None:
    assert parse_tags([" v1.2.3\n", "v1.2.4-beta.1\r\n"]) == [v("v1.2.3"), v("v1.2.4-beta.1")]


def test_prerelease_sorts_before_its_release_and_after_the_previous_one() -> None:
    assert v("v1.2.2") < v("v1.2.3-beta.1") < v("v1.2.3-beta.2") < v("v1.2.3")
    assert Version(1, 2, 3).__lt__("1.2.4") is NotImplemented


def test_versions_in_python_packaging_spelling() -> None:
    assert v("v1.2.3").pep440 == "1.2.3"
    assert v("v1.2.3-beta.4").pep440 == "1.2.3b4"
    assert v("v1.2.3-beta.4").release == v("v1.2.3")


# Bump markers


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        ("fix the cookie path", Bump.PATCH),
        ("add batch scoring #minor", Bump.MINOR),
        ("drop the v0 API\n\n#major", Bump.MAJOR),
        ("docs only #none", Bump.NONE),
        ("typo #patch", Bump.PATCH),
        ("shout #MINOR", Bump.MINOR),
        ("closes #12, no marker", Bump.PATCH),
        ("#minority report is not a marker", Bump.PATCH),
        ("x#major glued to a word is not one", Bump.PATCH),
        ("##major is not one either", Bump.PATCH),
        ("#Minor in any ASCII case", Bump.MINOR),
        # Unicode case folding matched a dotted capital I, then no Bump was named so (KeyError)
        ("fix #M\u0130NOR", Bump.PATCH),
        ("fix #m\u0130nor", Bump.PATCH),
    ],
)
def test_one_message(message: str, bump: Bump) -> None:
    assert message_bump(message) is bump


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        ("#none and #patch", Bump.PATCH),
        ("#patch then #minor", Bump.MINOR),
        ("#major, #minor, #none", Bump.MAJOR),
        ("#none #none", Bump.NONE),
    ],
)
def test_several_markers_in_one_message_the_largest_wins(message: str, bump: Bump) -> None:
    assert message_bump(message) is bump


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        # `git revert` quotes the reverted subject: its marker is that commit's, not this one's.
        ('Revert "drop the v1 API #major"\n\nThis reverts commit 0123abc.', Bump.PATCH),
        ('Revert "docs #none"', Bump.PATCH),
        # GitHub's Revert button: the pull request's title; squash merges list the commits.
        ('Revert "add batch scoring #minor" (#13)\n\nReverts o/r#12', Bump.PATCH),
        ('Merge pull request #13 from o/revert-12\n\nRevert "add batch scoring #minor"',
         Bump.PATCH),
        ('Undo it (#13)\n\n* Revert "drop the v1 API #major"\n\nThis reverts commit 0123abc.',
         Bump.PATCH),
        # A marker of the revert's own still counts.
        ('Revert "drop the v1 API #major" #minor', Bump.MINOR),
        ('Revert "drop the v1 API #major"\n\nthe v1 API is back #minor', Bump.MINOR),
        # Reverting a revert applies the change again, and so its marker.
        ('Revert "Revert "drop the v1 API #major""', Bump.MAJOR),
        ('Reapply "drop the v1 API #major"', Bump.MAJOR),
        # Only a revert's quoted subject is left out.
        ('say "hello #minor"', Bump.MINOR),
    ],
)  # fmt: skip
def test_a_reverts_quoted_subject_is_not_its_marker(message: str, bump: Bump) -> None:
    """docs/release.md, rolling back: a revert merged into main releases a patch, also when
    the change it takes back was a #major one."""
    assert message_bump(message) is bump


def test_the_largest_message_wins_and_unmarked_messages_are_patches() -> None:
    assert release_bump(["#none", "#none"]) is Bump.NONE
    assert release_bump(["#none", "refactor"]) is Bump.PATCH
    assert release_bump(["#patch", "#minor", "#none"]) is Bump.MINOR
    assert release_bump(["#major", "#minor"]) is Bump.MAJOR
    assert release_bump([]) is Bump.NONE
    assert str(Bump.MINOR) == "minor"


# Next release


def test_last_release_ignores_prereleases() -> None:
    assert last_release(parse_tags(["v1.2.3", "v1.3.0-beta.1"])) == v("v1.2.3")
    assert last_release(parse_tags(["v1.3.0-beta.1"])) is None
    assert last_release([]) is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [("fix", "v1.2.4"), ("feature #minor", "v1.3.0"), ("break #major", "v2.0.0")],
)
def test_next_release_bumps_the_last_release(message: str, expected: str) -> None:
    versions = parse_tags(["v1.2.3", "v1.1.0", "v1.2.4-beta.3"])
    planned = plan_release(versions, [message])
    assert planned is not None
    assert planned.version.tag == expected
    assert planned.previous == v("v1.2.3")
    assert planned.latest


@pytest.mark.parametrize(
    ("message", "expected"),
    [("first", "v0.0.1"), ("first #minor", "v0.1.0"), ("first #major", "v1.0.0")],
)
def test_without_a_previous_tag_the_bump_starts_from_zero(message: str, expected: str) -> None:
    planned = plan_release([], [message])
    assert planned is not None
    assert planned.version.tag == expected
    assert planned.previous is None


def test_none_marker_releases_nothing() -> None:
    assert plan_release(parse_tags(["v1.2.3"]), ["docs #none", "ci #none"]) is None
    assert plan_release([], ["#none"]) is None
    assert plan_release(parse_tags(["v1.2.3"]), []) is None
    assert plan_prerelease(parse_tags(["v1.2.3"]), ["#none"]) is None


# Pre-releases


def test_first_prerelease_of_the_next_version() -> None:
    planned = plan_prerelease(parse_tags(["v1.2.3"]), ["feature #minor"])
    assert planned is not None
    assert planned.version.tag == "v1.3.0-beta.1"
    assert not planned.latest
    assert planned.previous == v("v1.2.3")


def test_prereleases_count_up_per_version() -> None:
    tags = ["v1.2.3", "v1.2.4-beta.1", "v1.2.4-beta.2", "v1.3.0-beta.7"]
    patch = plan_prerelease(parse_tags(tags), ["fix"])
    minor = plan_prerelease(parse_tags(tags), ["#minor"])
    assert patch is not None
    assert minor is not None
    assert patch.version.tag == "v1.2.4-beta.3"
    assert minor.version.tag == "v1.3.0-beta.8"


def test_prerelease_after_a_release_starts_again_at_beta_1() -> None:
    # v1.2.4 was released after its betas: the next beta is of the version after it.
    tags = ["v1.2.3", "v1.2.4-beta.1", "v1.2.4-beta.2", "v1.2.4"]
    planned = plan_prerelease(parse_tags(tags), ["fix"])
    assert planned is not None
    assert planned.version.tag == "v1.2.5-beta.1"
    assert planned.previous == v("v1.2.4")


def test_prerelease_without_any_tag() -> None:
    planned = plan_prerelease([], ["start"])
    assert planned is not None
    assert planned.version.tag == "v0.0.1-beta.1"


# Pushed tags


def test_pushed_release_tag() -> None:
    versions = parse_tags(["v1.2.3", "v1.2.4-beta.1", "v1.2.4"])
    planned = plan_tag(versions, "v1.2.4")
    assert planned.version == v("v1.2.4")
    assert planned.previous == v("v1.2.3")
    assert planned.bump is None
    assert planned.latest


def test_pushed_hotfix_of_an_older_line_is_not_latest() -> None:
    planned = plan_tag(parse_tags(["v1.2.3", "v2.0.0"]), "v1.2.4")
    assert planned.previous == v("v1.2.3")
    assert not planned.latest


def test_pushed_prerelease_tag_is_never_latest() -> None:
    planned = plan_tag(parse_tags(["v1.2.3"]), "v1.3.0-beta.1")
    assert planned.previous == v("v1.2.3")
    assert not planned.latest


def test_pushed_tag_of_another_shape_is_refused() -> None:
    with pytest.raises(InvalidTagError):
        plan_tag([], "release-2024")


# The "latest" release


def test_latest_is_a_release_not_below_the_highest_release() -> None:
    assert is_latest(v("v0.0.1"), [])  # the first release
    assert is_latest(v("v1.2.4"), parse_tags(["v1.2.3", "v1.3.0-beta.1"]))
    assert is_latest(v("v1.2.3"), [v("v1.2.3")])  # itself, published again
    assert not is_latest(v("v1.2.4"), [v("v1.3.0")])  # a newer release is out
    assert not is_latest(v("v1.3.0-beta.1"), [])


# Image tags


def test_release_gets_the_full_floating_tag_set() -> None:
    versions = parse_tags(["v1.2.3", "v1.3.0-beta.1"])
    assert image_tags(v("v1.3.0"), versions) == ["1.3.0", "1.3.latest", "1.latest", "latest"]
    assert image_tags(v("v0.0.1"), []) == ["0.0.1", "0.0.latest", "0.latest", "latest"]


def test_prerelease_gets_only_its_own_tag() -> None:
    assert image_tags(v("v1.3.0-beta.2"), parse_tags(["v1.2.3"])) == ["1.3.0-beta.2"]


def test_floating_tags_never_move_back_to_an_older_line() -> None:
    versions = parse_tags(["v1.2.3", "v1.3.0", "v2.0.0"])
    assert image_tags(v("v1.2.4"), versions) == ["1.2.4", "1.2.latest"]
    assert image_tags(v("v1.3.1"), versions) == ["1.3.1", "1.3.latest", "1.latest"]
    assert image_tags(v("v2.0.1"), versions) == ["2.0.1", "2.0.latest", "2.latest", "latest"]
    # Without v1.3.0 the hotfix is the highest 1.x: it moves 1.latest, never latest.
    older = parse_tags(["v1.2.3", "v2.0.0"])
    assert image_tags(v("v1.2.4"), older) == ["1.2.4", "1.2.latest", "1.latest"]


def test_rebuilding_an_existing_release_keeps_its_tags() -> None:
    versions = parse_tags(["v1.2.3", "v1.3.0"])
    assert image_tags(v("v1.3.0"), versions) == ["1.3.0", "1.3.latest", "1.latest", "latest"]
