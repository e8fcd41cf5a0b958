"""Who reviews whom: the one rule, a pure function of its inputs (no database, no clock), so the
assignment of reviews is deterministic and can be property-tested (tests/unit/lms/
test_review_allocation.py).

The people of a round are the *participants*: the learners whose submission is eligible
(``lms.review.services`` decides who that is). Each participant is an author (their submission
is reviewed) and a reviewer. :func:`allocate` adds (reviewer, author) pairs to those a round
has already (``existing``, kept as they are) so that:

1. nobody reviews themselves, anyone ``exclusions`` names for them or for whom they are named
   (study group mates: exclusions are symmetric), or one author twice;
2. every author has ``per_submission`` reviewers, or as many as there are people allowed to
   review them (``Allocation.short`` says how many are missing, for the instructors);
3. every reviewer reviews ``per_submission`` submissions, or as many as they are allowed to: a
   participant who joins a round late (a late submitter) reviews the submissions with the
   fewest reviewers, so some authors get one review more than asked, never fewer;
4. the load is balanced: the reviewers' counts of reviews (those the round has already
   included) differ by at most one when nothing forbids it; a final pass moves new reviews from
   the busiest reviewers to the least busy while a move is allowed (with exclusions, or a round
   that was uneven already, a move may not be);
5. the same inputs give the same pairs, in whatever order they come: people are ordered by a
   hash of ``seed`` (the service passes the assignment's id) and their id, ties are broken by
   the distance after the author in that order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass


@dataclass(frozen=True)
class Allocation:
    new: tuple[tuple[int, int], ...]
    """The pairs to add, ``(reviewer, author)``, in the order they were chosen."""
    short: dict[int, int]
    """Authors who could not get all their reviewers: how many are missing."""


def _ordered(people: Iterable[int], seed: str) -> list[int]:
    def key(person: int) -> tuple[str, int]:
        return hashlib.sha256(f"{seed}:{person}".encode()).hexdigest(), person

    return sorted(set(people), key=key)


def allocate(
    participants: Iterable[int],
    per_submission: int,
    exclusions: Mapping[int, Set[int]],
    existing: Iterable[tuple[int, int]] = (),
    seed: str = "",
) -> Allocation:
    """The pairs to add to ``existing`` (see the module's rules). Pairs of ``existing`` with
    someone who is not a participant are ignored (the caller cancels them)."""
    people = _ordered(participants, seed)
    position = {person: i for i, person in enumerate(people)}
    count = len(people)
    blocked: dict[int, set[int]] = {person: set() for person in people}
    for person, mates in exclusions.items():
        for mate in mates:
            if person != mate:
                blocked.setdefault(person, set()).add(mate)
                blocked.setdefault(mate, set()).add(person)
    reviewers_of: dict[int, set[int]] = {person: set() for person in people}
    load = dict.fromkeys(people, 0)
    for reviewer, author in existing:
        if reviewer in load and author in reviewers_of and reviewer not in reviewers_of[author]:
            reviewers_of[author].add(reviewer)
            load[reviewer] += 1
    new: list[tuple[int, int]] = []

    def allowed(reviewer: int, author: int) -> bool:
        return (reviewer != author and reviewer not in blocked[author]
                and reviewer not in reviewers_of[author])

    def after(first: int, second: int) -> int:
        return (position[second] - position[first]) % count

    def add(reviewer: int, author: int) -> None:
        reviewers_of[author].add(reviewer)
        load[reviewer] += 1
        new.append((reviewer, author))

    # 2. each author's reviewers, one a round so the load spreads: the least busy allowed
    # reviewer, then the nearest after the author
    for _ in range(per_submission):
        for author in people:
            if len(reviewers_of[author]) >= per_submission:
                continue
            candidates = [r for r in people if allowed(r, author)]
            if candidates:
                add(min(candidates, key=lambda r: (load[r], after(author, r))), author)
    # 3. reviewers still below their share (late joiners): the submissions with fewest reviewers
    for reviewer in people:
        while load[reviewer] < per_submission:
            candidates = [a for a in people if allowed(reviewer, a)]
            if not candidates:
                break
            add(reviewer, min(candidates, key=lambda a: (len(reviewers_of[a]), after(a, reviewer))))
    # 4. even out: move a new review from a busiest reviewer to a least busy one while allowed
    _even_out(new, load, reviewers_of, allowed, people)
    short = {a: per_submission - len(reviewers_of[a]) for a in people
             if len(reviewers_of[a]) < per_submission}
    return Allocation(tuple(new), short)


def _even_out(new, load, reviewers_of, allowed, people) -> None:
    moved = True
    while moved and people:
        moved = False
        least = min(load.values())
        for index, (busy, author) in enumerate(new):
            if load[busy] - least < 2:
                continue
            idle = next((r for r in people if load[r] == least and allowed(r, author)), None)
            if idle is None:
                continue
            reviewers_of[author].discard(busy)
            reviewers_of[author].add(idle)
            load[busy] -= 1
            load[idle] += 1
            new[index] = (idle, author)
            moved = True
            break
