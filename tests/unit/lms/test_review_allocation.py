"""Who reviews whom (``lms.review.allocation.allocate``), property-tested: the rules of the
module's docstring hold for any participants, reviews per submission, study groups and reviews
a round has already."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lms.review.allocation import allocate

people = st.lists(st.integers(min_value=1, max_value=10_000), min_size=0, max_size=40,
                  unique=True)
per_submission = st.integers(min_value=1, max_value=4)


@st.composite
def study_groups(draw, participants: list[int]) -> dict[int, set[int]]:
    """Disjoint groups of the participants (each excluded from reviewing the others), as
    ``lms.groups.selectors.study_group_mates`` gives them, possibly naming non-participants."""
    size = draw(st.integers(min_value=1, max_value=5))
    shuffled = draw(st.permutations(participants)) if participants else []
    mates: dict[int, set[int]] = {}
    for start in range(0, len(shuffled), size):
        group = set(shuffled[start:start + size])
        if draw(st.booleans()):
            group.add(draw(st.integers(min_value=20_000, max_value=20_010)))  # a dropout
        for person in group:
            mates[person] = group - {person}
    return mates


def reviewers_of(pairs) -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for reviewer, author in pairs:
        found.setdefault(author, set()).add(reviewer)
    return found


def loads(pairs, participants) -> dict[int, int]:
    counted = dict.fromkeys(participants, 0)
    for reviewer, _ in pairs:
        counted[reviewer] += 1
    return counted


def allowed_for(author, participants, mates) -> set[int]:
    return {r for r in participants
            if r != author and r not in mates.get(author, set())
            and author not in mates.get(r, set())}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), participants=people, n=per_submission)
def test_nobody_reviews_themselves_a_study_group_mate_or_one_author_twice(data, participants, n):
    mates = data.draw(study_groups(participants))
    result = allocate(participants, n, mates, seed="ps1")
    assert len(set(result.new)) == len(result.new)
    for reviewer, author in result.new:
        assert reviewer != author
        assert reviewer not in mates.get(author, set())
        assert author not in mates.get(reviewer, set())
        assert {reviewer, author} <= set(participants)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), participants=people, n=per_submission)
def test_every_submission_gets_its_reviewers_when_enough_people_may_review_it(
    data, participants, n
):
    mates = data.draw(study_groups(participants))
    result = allocate(participants, n, mates, seed="ps1")
    got = reviewers_of(result.new)
    for author in participants:
        possible = len(allowed_for(author, participants, mates))
        assert len(got.get(author, set())) >= min(n, possible)
        assert result.short.get(author, 0) == n - min(n, len(got.get(author, set())))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), participants=people, n=per_submission)
def test_every_reviewer_reviews_their_share_when_they_may(data, participants, n):
    mates = data.draw(study_groups(participants))
    result = allocate(participants, n, mates, seed="ps1")
    counted = loads(result.new, participants)
    for reviewer in participants:
        possible = sum(reviewer in allowed_for(a, participants, mates) for a in participants)
        assert counted[reviewer] >= min(n, possible)


@settings(max_examples=150, deadline=None)
@given(participants=people, n=per_submission)
def test_without_study_groups_everyone_reviews_and_is_reviewed_exactly_n_times(participants, n):
    result = allocate(participants, n, {}, seed="ps1")
    if len(participants) > n:
        assert set(loads(result.new, participants).values()) == {n}
        assert {len(r) for r in reviewers_of(result.new).values()} == {n}
        assert len(reviewers_of(result.new)) == len(participants)
        assert result.short == {}


@settings(max_examples=150, deadline=None)
@given(data=st.data(), participants=st.lists(st.integers(1, 10_000), min_size=12, max_size=40,
                                             unique=True), n=per_submission)
def test_with_small_study_groups_the_load_is_balanced_within_one(data, participants, n):
    mates = data.draw(study_groups(participants))
    result = allocate(participants, n, mates, seed="ps1")
    counted = loads(result.new, participants).values()
    assert max(counted) - min(counted) <= 1
    assert result.short == {}


@settings(max_examples=100, deadline=None)
@given(data=st.data(), participants=people, n=per_submission, seed=st.text(max_size=8))
def test_the_same_inputs_in_any_order_give_the_same_pairs(data, participants, n, seed):
    mates = data.draw(study_groups(participants))
    shuffled = data.draw(st.permutations(participants))
    assert allocate(participants, n, mates, seed=seed) == allocate(shuffled, n, mates, seed=seed)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), participants=st.lists(st.integers(1, 10_000), min_size=6, max_size=30,
                                             unique=True), n=per_submission)
def test_a_late_submitter_joins_a_round_without_changing_its_reviews(data, participants, n):
    *early, late = participants
    mates = data.draw(study_groups(participants))
    first = allocate(early, n, mates, seed="ps1")
    second = allocate(participants, n, mates, existing=first.new, seed="ps1")
    assert not set(second.new) & set(first.new)
    everything = first.new + second.new
    assert len(reviewers_of(everything).get(late, set())) >= min(
        n, len(allowed_for(late, participants, mates)))
    possible = sum(late in allowed_for(a, participants, mates) for a in early)
    assert loads(everything, participants)[late] >= min(n, possible)
    for reviewer, author in second.new:
        assert reviewer != author and reviewer not in mates.get(author, set())


@settings(max_examples=100, deadline=None)
@given(participants=st.lists(st.integers(1, 10_000), min_size=6, max_size=30, unique=True),
       n=per_submission)
def test_a_dropouts_reviews_go_to_the_others_and_the_load_stays_within_one(participants, n):
    first = allocate(participants, n, {}, seed="ps1")
    dropout, *staying = participants
    kept = [(r, a) for r, a in first.new if dropout not in (r, a)]
    second = allocate(staying, n, {}, existing=kept, seed="ps1")
    everything = kept + list(second.new)
    assert dropout not in {p for pair in everything for p in pair}
    if len(staying) > n:
        assert min(len(r) for r in reviewers_of(everything).values()) >= n
        counted = loads(everything, staying).values()
        assert max(counted) - min(counted) <= 1
