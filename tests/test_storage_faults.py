"""Object-store faults: a small fault proxy on 127.0.0.1 in front of the moto S3 server.

The proxy forwards every request to moto unchanged, except those it fails: a share answered
``503 ServiceUnavailable`` or ``503 SlowDown`` (S3's throttling answer), or every request for
one bucket. The run's local workers inherit the endpoint, so their reads go through it too.
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import fsspec
import pytest

from tests.support import SCALE, invoke

pytestmark = pytest.mark.slow

_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
)


class FaultProxy:
    """Forwards to ``upstream``; fails every ``unavailable``-th and ``slow_down``-th request
    (counted over all requests, so the shares are exact whatever the order), or every
    request for ``failing_bucket``."""

    def __init__(
        self,
        upstream: str,
        *,
        unavailable: int | None = None,
        slow_down: int | None = None,
        failing_bucket: str | None = None,
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.unavailable, self.slow_down = unavailable, slow_down
        self.failing_bucket = failing_bucket
        self.requests = 0
        self.lock = threading.Lock()
        self.counts = {"forwarded": 0, "ServiceUnavailable": 0, "SlowDown": 0, "bucket": 0}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.fault(self.path)
                if fault:
                    code, message = fault
                    error = _ERROR.format(code=code, message=message).encode()
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(error)
                    return
                connection = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=60
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                # A HEAD answer's length is the object's, which its empty body is not.
                dropped = ("transfer-encoding", "connection")
                if self.command != "HEAD":
                    dropped += ("content-length",)
                for key, value in response.getheaders():
                    if key.lower() not in dropped:
                        self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def fault(self, path: str) -> tuple[str, str] | None:
        with self.lock:
            bucket = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            if self.failing_bucket and bucket == self.failing_bucket:
                self.counts["bucket"] += 1
                return "ServiceUnavailable", "the fault proxy fails this bucket"
            self.requests += 1
            # Offsets keep the two kinds on different requests.
            if self.unavailable and self.requests % self.unavailable == 2:
                self.counts["ServiceUnavailable"] += 1
                return "ServiceUnavailable", "injected by the fault proxy"
            if self.slow_down and self.requests % self.slow_down == 5:
                self.counts["SlowDown"] += 1
                return "SlowDown", "Please reduce your request rate."
            self.counts["forwarded"] += 1
            return None

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def demo_on_s3(s3) -> Iterator[object]:
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir("inputs")
    fs.mkdir("rankings")
    result = invoke("demo-data", "--output", "s3://inputs/demo", "--scale", SCALE)
    assert result.exit_code == 0, result.output
    yield fs


def _run_through(proxy: FaultProxy, output: str) -> tuple[object, float]:
    fsspec.filesystem("s3").clear_instance_cache()
    env = {"AWS_ENDPOINT_URL": proxy.url}
    started = time.monotonic()
    result = invoke(
        "run", "--input", "s3://inputs/demo", "--output", output, "--workers", "1", env=env
    )
    return result, time.monotonic() - started


def test_with_503s_and_slowdowns_the_run_publishes_byte_identical_rankings(s3_server, demo_on_s3):
    fs = demo_on_s3
    direct = invoke("run", "--input", "s3://inputs/demo", "--output", "s3://rankings/direct")
    assert direct.exit_code == 0, direct.output
    # 10 % of the requests answered 503 ServiceUnavailable, 5 % 503 SlowDown.
    with FaultProxy(s3_server, unavailable=10, slow_down=20) as proxy:
        result, _ = _run_through(proxy, "s3://rankings/faulty")
    assert result.exit_code == 0, result.output
    assert proxy.counts["ServiceUnavailable"] >= 3 and proxy.counts["SlowDown"] >= 1, proxy.counts
    (reference,) = [d for d in fs.ls("rankings/direct", refresh=True) if fs.isdir(d)]
    (faulty,) = [d for d in fs.ls("rankings/faulty", refresh=True) if fs.isdir(d)]
    for name in ("rankings.csv", "rankings.parquet", "profiles.csv"):
        assert fs.cat(f"{faulty}/{name}") == fs.cat(f"{reference}/{name}"), name
    assert fs.exists(f"{faulty}/manifest.json")


def test_an_output_bucket_failing_every_request_fails_fast_in_one_line(s3_server, demo_on_s3):
    fs = demo_on_s3
    with FaultProxy(s3_server, failing_bucket="rankings") as proxy:
        result, seconds = _run_through(proxy, "s3://rankings/runs")
    assert result.exit_code == 4, result.output
    last = result.output.strip().splitlines()[-1]
    assert "Traceback" not in result.output
    assert last.startswith("Error: cannot write output s3://rankings/runs"), last
    assert seconds < 120 and proxy.counts["bucket"] > 0
    assert not fs.exists("rankings/runs") or not fs.find("rankings/runs")
