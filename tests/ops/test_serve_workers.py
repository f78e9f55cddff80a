"""``scim-gateway serve --workers 2``: a real multi-process server on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ops.conftest import free_port

CLI = Path(sys.executable).with_name("scim-gateway")


def test_serve_with_two_workers_answers_queries_and_logs_json(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SCIM_GATEWAY_CONFIG"}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(CLI), "serve", "--workers", "2", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            with httpx.Client(base_url=base, timeout=5) as http:
                while True:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.2)
                answers = [
                    http.post("/graphql", json={"query": "{ tenants { id } }"}) for _ in range(6)
                ]
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(20)

    for answer in answers:
        assert answer.status_code == 200 and answer.headers["x-request-id"]
        assert [t["id"] for t in answer.json()["data"]["tenants"]] == ["acme", "globex", "initech"]
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    started = {x["message"] for x in lines if x["message"].startswith("Started server process")}
    assert len(started) == 2, started
    assert any(x["logger"] == "scim_gateway.access" and x["path"] == "/graphql" for x in lines)
