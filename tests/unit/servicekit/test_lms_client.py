"""servicekit.lms_client: what the LMS's answers mean to a hub service, against a small local
server answering like API v1 (the grade push's retries are tests/unit/grading's)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from servicekit.lms_client import LMSClient, LMSRejected, LMSUnavailable

TOKEN = "service-account-token-0123456789"


class FakeAPI:
    """Answers GET requests from ``answers`` (path with query -> status, body, headers) and
    records each request's path and Authorization header."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[tuple[str, str | None]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                api.requests.append((self.path, self.headers.get("Authorization")))
                status, body, headers = api.answers.get(self.path, (404, b'{"detail": "No."}', {}))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()  # stops at once when the test ends

    def page(self, path: str, results: list, next_link: str | None) -> None:
        body = {"count": 0, "next": next_link, "previous": None, "results": results}
        self.answers[path] = (200, json.dumps(body).encode(), {})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    fake = FakeAPI()
    yield fake
    fake.close()


def client(url: str, **options) -> LMSClient:
    return LMSClient(url, TOKEN, variable="LMS_EXAMPLE_TOKEN", retries=0, **options)


def test_a_list_is_read_page_by_page_with_the_service_accounts_token(api):
    api.page("/api/v1/things/", [1, 2], f"{api.url}/api/v1/things/?limit=2&offset=2")
    api.page("/api/v1/things/?limit=2&offset=2", [3], None)
    assert client(api.url).pages("/api/v1/things/") == [1, 2, 3]
    assert [auth for _path, auth in api.requests] == [f"Token {TOKEN}"] * 2


def test_next_links_are_asked_of_the_lms_itself_never_of_another_host(api):
    api.page("/api/v1/things/", [1], "http://attacker.example:81/api/v1/things/?offset=1")
    api.page("/api/v1/things/?offset=1", [2], None)
    assert client(api.url).pages("/api/v1/things/") == [1, 2]
    assert [path for path, _auth in api.requests] == ["/api/v1/things/",
                                                      "/api/v1/things/?offset=1"]


def test_an_lms_served_under_a_path_keeps_it_for_the_next_pages(api):
    api.page("/lms/api/v1/things/", [1], f"{api.url}/lms/api/v1/things/?offset=1")
    api.page("/lms/api/v1/things/?offset=1", [2], None)
    assert client(f"{api.url}/lms/").pages("/api/v1/things/") == [1, 2]


def test_pages_stop_at_the_most_a_caller_reads(api):
    api.page("/api/v1/things/", [1], f"{api.url}/api/v1/things/")  # a loop
    assert client(api.url).pages("/api/v1/things/", max_pages=3) == [1, 1, 1]


def test_a_plain_list_is_one_page(api):
    api.answers["/api/v1/things/"] = (200, b"[1, 2]", {})
    assert client(api.url).pages("/api/v1/things/") == [1, 2]


def test_a_refusal_carries_the_status_and_the_lms_words_and_is_not_retried(api):
    sleeps: list[float] = []
    refusing = LMSClient(api.url, TOKEN, retries=3, sleep=sleeps.append)
    with pytest.raises(LMSRejected, match=r"refused the things \(404\): No\.") as refused:
        refusing.request("GET", "/api/v1/missing/", what="the things")
    assert refused.value.status == 404
    assert len(api.requests) == 1 and sleeps == []


def test_a_redirect_is_not_followed_with_the_token(api):
    api.answers["/api/v1/moved/"] = (302, b"", {"Location": "http://elsewhere.example/"})
    with pytest.raises(LMSRejected) as refused:
        client(api.url).request("GET", "/api/v1/moved/")
    assert refused.value.status == 302


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [(200, b"<html>a login page</html>", "not JSON"),
     (200, b'{"unexpected": true}', "not a list of results"),
     (503, b'{"detail": "busy"}', "did not answer the things after 1 try: 503: busy")],
)
def test_an_answer_that_cannot_be_used_means_the_lms_is_unavailable(api, status, body, says):
    api.answers["/api/v1/things/"] = (status, body, {})
    with pytest.raises(LMSUnavailable, match=says):
        client(api.url).pages("/api/v1/things/", what="the things")


def test_a_client_without_token_cannot_be_made_and_says_which_variable():
    with pytest.raises(ValueError, match="LMS_EXAMPLE_TOKEN is empty"):
        LMSClient("http://127.0.0.1:8000", "", variable="LMS_EXAMPLE_TOKEN")
