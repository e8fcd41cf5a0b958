"""The course board at size: 10,000 threads and 50,000 replies on one course's board. Lists
(the board's page and the API), searches (PostgreSQL full text, ``lms.community.search``) and
opens a thread (page and API), as a learner of the course; the target is p95 < 50 ms each.

The board is bulk-created straight into the tables (opening posts, replies, their search
vectors as ``lms.community.search`` writes them), not through the services: the services' rules
are the tests' business, the cost of reading a big board is this one's. The board is committed
and vacuumed and analysed before it is read, as autovacuum leaves a real one (an uncommitted
board has no visibility map, a GIN index with its pending list full, and no statistics but the
test's own ANALYZE). Each case's query count is printed and asserted equal to the count on a
board of a few threads: it does not grow with the data. The cases are timed in rounds, each
case once a round in a rotating order, so that other work on a shared machine spreads over
every case; the load average is printed before and after. Run with ``make bench``.
"""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lms.community.models import Post, PostKind, Thread, ThreadKind
from lms.community.search import CONFIG
from lms.community.views import PAGE_SIZE
from lms.courses.services import enroll
from tests.benchmarks.timing import interleaved, load_average, percentile
from tests.support.lms_factories import CourseFactory, LessonFactory, UserFactory

THREADS = 10_000
REPLIES_PER_THREAD = 5
MEMBERS = 200
REPEAT = 200
TARGET_MS = 50
WORDS = [
    "loop", "list", "dict", "tuple", "function", "return", "value", "error", "index", "string",
    "print", "range", "class", "object", "module", "import", "file", "read", "write", "numpy",
    "pandas", "plot", "test", "assert", "recursion", "generator", "iterator", "slice", "format",
    "lambda", "sort", "key",
]
RARE = "zebracorn"  # in one thread out of 500


FILLER = [f"w{n}" for n in range(3000)]  # the rest of a post's words, spread thin


def _text(rng: random.Random, n: int) -> str:
    """``n`` words; one in ten a Python word (each in a few percent of posts, as real ones)."""
    return " ".join(rng.choice(WORDS if rng.random() < 0.1 else FILLER) for _ in range(n))


FEW = 60  # the threads the query counts are first taken with


def _build(course, members, start: int, count: int, rng: random.Random) -> None:
    """``count`` threads numbered from ``start``, each with an opening post and
    ``REPLIES_PER_THREAD`` answers and comments, written in bulk."""
    now = timezone.now()
    threads = Thread.objects.bulk_create([
        Thread(
            course=course, kind=ThreadKind.QUESTION if n % 3 else ThreadKind.DISCUSSION,
            title=f"{_text(rng, 4)} {RARE if n % 500 == 7 else ''} #{n}".strip(),
            author=members[n % len(members)], anonymous=n % 10 == 0, answered=n % 4 == 0,
            pinned=n % 2000 == 1, created_at=now - timezone.timedelta(minutes=n),
            last_activity_at=now - timezone.timedelta(minutes=n),
        )
        for n in range(start, start + count)
    ], batch_size=2000)
    posts = []
    for thread in threads:
        body = _text(rng, 30)
        posts.append(Post(thread=thread, kind=PostKind.OPENING, author=thread.author,
                          anonymous=thread.anonymous, body=body, html=f"<p>{body}</p>",
                          created_at=thread.created_at))
        for r in range(REPLIES_PER_THREAD):
            body = _text(rng, 20)
            posts.append(Post(thread=thread, kind=PostKind.ANSWER, author=rng.choice(members),
                              body=body, html=f"<p>{body}</p>",
                              created_at=thread.created_at + timezone.timedelta(seconds=r + 1)))
    Post.objects.bulk_create(posts, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE community_thread t SET opening_post_id = p.id FROM community_post p "
            "WHERE p.thread_id = t.id AND p.kind = 'opening' AND t.opening_post_id IS NULL"
        )
        cursor.execute(
            "UPDATE community_post p SET search_vector = to_tsvector(%s, t.title || E'\\n' || "
            "p.body) FROM community_thread t WHERE p.thread_id = t.id "
            "AND p.search_vector IS NULL",
            [CONFIG],
        )
    with connection.cursor() as cursor:  # as autovacuum would, after so many rows
        for table in ("community_thread", "community_post"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


@pytest.mark.django_db(transaction=True)  # a committed board, as a real one
def test_a_board_of_10000_threads_and_50000_replies():
    rng = random.Random(15)  # noqa: S311 - the same made-up board each run, no secret
    course = CourseFactory(slug="bench-board", title="Bench board")
    LessonFactory(parent=course, slug="loops", title="Loops")
    members = [UserFactory() for _ in range(MEMBERS)]
    for member in members:
        enroll(member, course)
    learner = members[1]
    client = Client()
    client.force_login(learner)

    # More threads than a page of the board (30) and of the API (50) holds at first, so both
    # sizes count a page that has a next one (the API counts a last page from its length).
    _build(course, members, 0, FEW, rng)
    middle = Thread.objects.filter(course=course).order_by("pk")[10].pk
    board = f"/courses/{course.slug}/board/"
    api = f"/api/v1/courses/{course.slug}/threads/"
    cases = {
        f"board page (first {PAGE_SIZE} threads)": board,
        "board page, unanswered filter": board + "?unanswered=1",
        f"board search (full text, '{RARE}')": board + f"?q={RARE}",
        "board search (full text, 'recursion lambda')": board + "?q=recursion+lambda",
        "thread page (6 posts)": f"{board}{middle}/",
        "API thread list (50 per page)": api,
        f"API thread search ('{RARE}')": api + f"?q={RARE}",
        "API thread with its posts": f"{api}{middle}/",
    }
    for url in cases.values():
        client.get(url)  # warm what is cached per process
    few = {name: _queries(client, url) for name, url in cases.items()}

    _build(course, members, FEW, THREADS - FEW, rng)
    assert Thread.objects.filter(course=course).count() == THREADS
    assert Post.objects.exclude(kind=PostKind.OPENING).count() == THREADS * REPLIES_PER_THREAD

    for name, url in cases.items():
        assert _queries(client, url) == few[name], name  # no growth with the data
    load_before = load_average()
    samples = interleaved(
        {name: (lambda u=url: client.get(u)) for name, url in cases.items()}, REPEAT
    )
    results = {name: (percentile(times, 50), percentile(times, 95))
               for name, times in samples.items()}

    print(f"\nCourse board: {THREADS} threads, {THREADS * REPLIES_PER_THREAD} replies, "
          f"{REPEAT} requests each as a learner, interleaved (in-process client, PostgreSQL); "
          f"target p95 < {TARGET_MS} ms; load average {load_before} before, "
          f"{load_average()} after")
    for name, (p50, p95) in results.items():
        verdict = "ok" if p95 * 1000 < TARGET_MS else "OVER"
        print(f"  {name:<48} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
              f"{few[name]:3d} queries  {verdict}")
    assert len(results) == len(cases)
