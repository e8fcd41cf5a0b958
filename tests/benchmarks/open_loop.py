"""An open-loop HTTP load generator, run as its own process so that it takes little of the CPU
the server under test needs (``python -m tests.benchmarks.open_loop <plan.json>``).

The plan (JSON) gives the server's ``base_url``, the ``rate`` (requests per second) and the
``requests`` in the order they start, each ``[kind, path, headers]``: request ``i`` is due at
``i / rate`` seconds after the start, whether or not earlier ones have answered (a closed loop
would slow down with the server and hide its queue). A dispatcher thread hands each request to a
pool of ``connections`` worker threads when it is due; each worker keeps one HTTP/1.1 connection
(``http.client``, reopened when the server closes it; a GET that meets a kept-alive connection
the server has just closed is sent again on a new one, as browsers do). A request's latency
counts from when it was due, so time spent waiting for a free worker or connection, and a
resend, count too.

It prints one JSON object: ``latencies`` (seconds, by kind), ``errors`` (a line each: a refused
or dropped connection, a timeout, a status other than 200), ``achieved`` (requests per second,
from the first due time to the last answer) and ``cpu_seconds`` (its own CPU time, user and
system, so a run can say how much of the machine the generator took).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import sys
import threading
import time
from collections import defaultdict
from urllib.parse import urlsplit

TIMEOUT = 30.0  # seconds a request may take before it counts as an error


def run(plan: dict) -> dict:
    base = urlsplit(plan["base_url"])
    rate = float(plan["rate"])
    requests = plan["requests"]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    due_requests: queue.Queue = queue.Queue()

    def get(connection: http.client.HTTPConnection, path: str, headers: dict):
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer

    def worker() -> None:
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=TIMEOUT)
        while (item := due_requests.get()) is not None:
            due, (kind, path, headers) = item
            reused = connection.sock is not None
            try:
                try:
                    answer = get(connection, path, headers)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    # The server closed the kept-alive connection as the request went out (its
                    # keep-alive timeout): a browser sends a GET again on a new one, and so do we.
                    connection.close()
                    answer = get(connection, path, headers)
            except (OSError, http.client.HTTPException) as error:
                connection.close()  # the next request opens a fresh one
                with lock:
                    errors.append(f"{kind} {path}: {error!r}")
                continue
            finished = time.perf_counter()
            with lock:
                if answer.status != 200:
                    errors.append(f"{kind} {path}: {answer.status}")
                latencies[kind].append(finished - due)
        connection.close()

    workers = [threading.Thread(target=worker, daemon=True)
               for _ in range(int(plan["connections"]))]
    for thread in workers:
        thread.start()
    start = time.perf_counter()
    for index, request in enumerate(requests):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        due_requests.put((due, request))
    for _ in workers:
        due_requests.put(None)
    for thread in workers:
        thread.join()
    achieved = len(requests) / (time.perf_counter() - start)
    usage = os.times()
    return {"latencies": latencies, "errors": errors, "achieved": achieved,
            "cpu_seconds": usage.user + usage.system}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as plan_file:
        result = run(json.load(plan_file))
    json.dump(result, sys.stdout)
