"""The contract a JavaScript team builds on: TypeScript types generated from /openapi.json compile with a
partner program (which then runs against the platform), and the reference web app works in headless Chromium."""

from __future__ import annotations

import json
import subprocess
import uuid

import httpx
import pytest

from k12shared.settings import REPO_ROOT

WEB = REPO_ROOT / "web"
BIN = WEB / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def web_toolchain():
    """npm packages (npm ci, pinned) and Debian's chromium, installed when missing."""
    subprocess.run(["bash", str(WEB / "ensure.sh")], check=True, timeout=900)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))}\n{done.stdout}\n{done.stderr}"
    return done


def _dev_token(platform, role: str, district: str) -> str:
    return httpx.post(platform.url() + "/auth/dev-token", json={"role": role, "district": district}).raise_for_status().json()["access_token"]


async def test_typescript_program_compiles_against_generated_types_and_runs(platform, web_toolchain):
    from bench._demo_district import ensure_demo_district

    await ensure_demo_district(platform)
    spec = WEB / "build" / "openapi.json"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(httpx.get(platform.url() + "/openapi.json").raise_for_status().text)
    _run([str(BIN / "openapi-typescript"), str(spec), "-o", "client/generated/api.d.ts"])
    generated = (WEB / "client" / "generated" / "api.d.ts").read_text()
    assert '"/app/v1/dashboard"' in generated and "createAction" in generated
    _run([str(BIN / "tsc"), "-p", "tsconfig.json"])

    token = _dev_token(platform, "district_admin", "096088")
    owner = f"ts-client:{uuid.uuid4().hex[:6]}"
    ran = _run(["node", "build/client/partner.js"], env={"PATH": "/usr/bin:/bin", "K12_URL": platform.url(), "K12_TOKEN": token, "K12_OWNER": owner})
    summary, created = ran.stdout.strip().splitlines()
    admin = {"authorization": f"Bearer {token}"}
    # The district's name as the platform knows it (a state file loaded earlier may have named it first).
    name = httpx.get(f"{platform.url()}/api/v1/orgs", params={"state_id": "096088", "type": "district"}, headers=admin).json()["items"][0]["name"]
    assert summary.startswith(name) and "% (" in summary
    action = json.loads(created)
    assert action["status"] == "open" and action["overdue"] is False
    assert httpx.get(f"{platform.url()}/api/v1/actions/{action['created']}", headers=admin).json()["owner"] == owner


async def test_web_app_signs_in_and_shows_the_demo_district_score(platform, web_toolchain):
    from bench._demo_district import ensure_demo_district

    await ensure_demo_district(platform)
    token = _dev_token(platform, "district_admin", "096088")
    dashboard = httpx.get(platform.url() + "/app/v1/dashboard", headers={"authorization": f"Bearer {token}"}, timeout=30).json()
    screenshot = WEB / "artifacts" / "dashboard.png"
    screenshot.parent.mkdir(exist_ok=True)
    screenshot.unlink(missing_ok=True)
    ran = _run(["node", "tests/sign_in.mjs", platform.url(), str(screenshot)])
    shown = json.loads(ran.stdout.strip().splitlines()[-1])
    assert shown["district"] == dashboard["district"]["name"]
    assert shown["score"] == f"{dashboard['score']['percent_of_possible']}%"
    assert shown["charts"] >= 1 + len(dashboard["goals"]) and shown["goals"] == len(dashboard["goals"])
    assert shown["drawn"] == shown["charts"], "every chart is drawn, with data"
    with_actuals = [g for g in dashboard["goals"] if any(p.get("actual") is not None for p in ((g.get("progress") or {}).get("target") or {}).get("periods", []))]
    assert with_actuals and shown["goal_actuals"] == len(with_actuals), "each goal with data draws its actuals against the trajectory"
    assert shown["errors"] == []
    assert shown.get("room") or not dashboard["next_meetings"]
    assert screenshot.stat().st_size > 10_000


def test_web_app_is_served_at_the_root(platform):
    page = httpx.get(platform.url() + "/")
    assert page.status_code == 200 and "K12 Perform" in page.text and "/app.js" in page.text
    assert httpx.get(platform.url() + "/vendor/chart.umd.min.js").status_code == 200
    options = httpx.get(platform.url() + "/app/v1/sign-in-options").json()
    assert options["dev_sign_in"] is True and "district_admin" in options["demo_roles"]
