"""servicekit.metrics: who may read a part's metrics, several processes summed, disk space."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from servicekit.metrics import (
    METRICS_OFF,
    MULTIPROCESS_VARIABLE,
    WRONG_TOKEN,
    DiskSpace,
    exposition,
    fresh_multiprocess_dir,
    refusal,
)

TOKEN = "metrics-token-0123456789abcdef"
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}",
                                           f"  Bearer   {TOKEN} "])
def test_the_bearer_token_is_let_in(authorization):
    assert refusal(authorization, TOKEN) is None


@pytest.mark.parametrize("authorization", [None, "", "Bearer", f"Bearer {TOKEN}x",
                                           f"Token {TOKEN}", f"Basic {TOKEN}", TOKEN])
def test_anything_else_is_refused_with_a_challenge(authorization):
    assert refusal(authorization, TOKEN) is WRONG_TOKEN
    assert WRONG_TOKEN.status == 401 and "WWW-Authenticate" in WRONG_TOKEN.headers


def test_without_a_token_no_one_reads_metrics():
    assert refusal("Bearer ", "") is METRICS_OFF
    assert refusal(f"Bearer {TOKEN}", "") is METRICS_OFF
    assert METRICS_OFF.status == 404


def values(text: bytes) -> dict[tuple, float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text.decode())
            for sample in family.samples}


def test_disk_space_is_measured_when_scraped_even_for_a_folder_not_made_yet(tmp_path):
    body, content_type = exposition(DiskSpace({"grader": tmp_path / "not" / "yet"}))
    assert content_type.startswith("text/plain")
    measured = values(body)
    free = measured[("studio_disk_free_bytes", (("folder", "grader"),))]
    size = measured[("studio_disk_size_bytes", (("folder", "grader"),))]
    assert 0 < free <= size
    assert size == os.statvfs(tmp_path).f_blocks * os.statvfs(tmp_path).f_frsize


def test_an_earlier_runs_counts_are_removed_from_the_folder(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"an earlier run")
    assert fresh_multiprocess_dir(folder) == folder
    assert list(folder.iterdir()) == []


PROCESSES = """
import multiprocessing, sys
from pathlib import Path
from servicekit.metrics import use_multiprocess_dir

def count(times):
    from prometheus_client import Counter
    Counter("example_done", "Done", ["by"]).labels("worker").inc(times)

if __name__ == "__main__":
    use_multiprocess_dir(Path(sys.argv[1]))  # the children inherit it
    context = multiprocessing.get_context("spawn")
    for times in (2, 3):
        child = context.Process(target=count, args=(times,))
        child.start()
        child.join()
    count(5)  # this process too
    from servicekit.metrics import exposition
    sys.stdout.write(exposition()[0].decode())
    try:
        use_multiprocess_dir(Path(sys.argv[1]))
    except RuntimeError as error:
        print("refused:", error)
"""


def test_the_counts_of_every_process_are_summed_and_the_folder_is_named_before_import(tmp_path):
    script = tmp_path / "processes.py"
    script.write_text(PROCESSES)
    env = {k: v for k, v in os.environ.items() if k != MULTIPROCESS_VARIABLE}
    ran = subprocess.run([sys.executable, str(script), str(tmp_path / "metrics")],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**env, "PYTHONPATH": str(REPO)})
    assert ran.returncode == 0, ran.stderr
    assert "example_done_total{by=\"worker\"} 10.0" in ran.stdout
    assert "refused: prometheus_client is imported already" in ran.stdout
