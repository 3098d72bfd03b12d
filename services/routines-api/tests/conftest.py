"""In-process routines-api on the test's transaction. metrics-api is not running here, so the
app's metrics client points at a closed port: every test sees the "metrics unavailable" path
(the e2e tests use the real metrics-api)."""

from __future__ import annotations

import socket

import pytest

from k12shared.http import ServiceClient


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def district(org_factory):
    return await org_factory("district", timezone="America/Chicago")


@pytest.fixture
async def other_district(org_factory):
    return await org_factory("district")


@pytest.fixture
async def client(app_client):
    from k12_routines.main import app

    async with app_client(app) as c:
        app.state.services["metrics"] = ServiceClient(app.state.http, f"http://127.0.0.1:{closed_port()}")
        yield c


@pytest.fixture
def admin(make_token, auth, district):
    return auth(make_token("district_admin", district_ids=[district.id], subject="test:admin"))


@pytest.fixture
def outsider(make_token, auth, other_district):
    return auth(make_token("district_admin", district_ids=[other_district.id], subject="test:outsider"))


@pytest.fixture
async def plan(client, admin):
    response = await client.post("/api/v1/plans", json={"school_year": "2026-27", "title": "Every student graduates"}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def goal(client, admin, plan):
    body = {
        "plan_id": plan["id"],
        "title": "Raise the four-year graduation rate",
        "metric": "graduation_rate_4yr",
        "subgroup": "all",
        "baseline_period": "2024-25",
        "baseline_value": 80.0,
        "target_period": "2027-28",
        "target_value": 89.0,
        "trajectory": {"kind": "linear"},
        "delivery_chain": [{"name": "Dr. Rivera", "role": "superintendent"}, {"name": "High school principals", "role": "principals"}],
    }
    response = await client.post("/api/v1/goals", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def routine(client, admin, goal):
    body = {
        "title": "Graduation stocktake",
        "kind": "stocktake",
        "goal_ids": [goal["id"]],
        "participants": ["test:principal"],
        "rrule": "FREQ=MONTHLY;INTERVAL=2;COUNT=6",
        "starts_at": "2026-09-15T09:00:00",
        "timezone": "America/Chicago",
        "duration_minutes": 60,
    }
    response = await client.post("/api/v1/routines", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def meetings(client, admin, routine):
    response = await client.get(f"/api/v1/routines/{routine['id']}/meetings", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


class Receiver:
    """A partner's webhook endpoint: a real local HTTP server that records what it is sent."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()
