"""Cross-district sweep (OWASP API1 broken object level / API5 broken function level authorization).

District A creates one of everything through the gateway. Then, for every operation of the merged
OpenAPI document, four attackers try it on A's resources:

- ``other_district``: district B's admin, full rights in B;
- ``other_school_leader``: a leader of another school of A, on A's school-scoped resources;
- ``staff``: a read-only staff user of A, on every change (reading its own district is its job);
- ``client_without_scope``: an API client of A that lacks the operation's scope.

Every such call must be refused (403/404), no answer may carry any of A's private markers (so no
list leaks A's items), and afterwards every resource of A reads exactly as before. Every write of A
must have left an audit entry (checked by request id). The sweep fails when the document has an
operation that ``OPERATIONS`` neither exercises nor exempts with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import httpx
import pytest

from k12shared.auth import Keyring, PrincipalKind, issue_token

MARK = f"SECRET-A-{uuid.uuid4().hex[:10]}"  # in every private text of A: it must never reach an attacker
REFUSED = {403, 404}
ALL = ("other_district", "other_school_leader", "staff", "client_without_scope")
NOT_LEADER = ("other_district", "staff", "client_without_scope")  # district-wide resources: a leader of A may read them
WRITERS_ONLY = ("other_district", "client_without_scope")  # reads a staff user of A may do by design


@dataclass
class Case:
    """How an operation is attacked: path ids from A's world, a valid body, and who must be refused."""

    body: Callable[[dict], Any] | None = None
    attackers: tuple[str, ...] = ALL
    params: Callable[[dict], dict] | None = None
    form: bool = False
    refused: frozenset[int] = frozenset(REFUSED)
    is_screen: bool = False  # a composed SPA screen: may answer 200 with the parts it may show
    public_data: bool = False  # reads public state data of any org: may answer 200, never with A's private items


@dataclass(frozen=True)
class Exempt:
    reason: str


def _later(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


PLATFORM_ONLY = "platform admin only: every attacker is refused by role"
OPERATIONS: dict[str, Case | Exempt] = {
    # gateway: identity, API clients, audit, screens
    "getJwks": Exempt("public signing keys by design (RFC 7517)"),
    "issueToken": Exempt("the client credentials exchange itself; wrong and revoked secrets are tested in test_gateway.py"),
    "issueDevToken": Exempt("development sign-in; answers 404 in production"),
    "createApiClient": Case(lambda w: {"name": f"{MARK} hijack", "scopes": ["metrics:read"], "district_id": w["district_a"]}),
    "listApiClients": Case(params=lambda w: {}),
    "getApiClient": Case(),
    "revokeApiClient": Case(),
    "rotateApiClientSecret": Case(lambda w: {"grace_period_s": 0}),
    "listAuditEntries": Case(params=lambda w: {"district_id": w["district_a"]}),
    "inviteUser": Case(lambda w: {"email": "intruder@attacker.example", "display_name": "taken", "role": "district_admin", "district_id": w["district_a"]}),
    "listUsers": Case(),
    "getUser": Case(),
    "updateUser": Case(lambda w: {"role": "district_admin"}),
    "removeUser": Case(),
    "exchangeIdentityToken": Exempt("the ID token is the credential; foreign, forged and uninvited sign-ins are refused in test_sign_in_oidc.py"),
    "getDashboard": Case(params=lambda w: {"district": w["district_a"]}, attackers=("other_district",)),
    "getMyActions": Case(attackers=("other_district", "other_school_leader", "staff")),
    "getMeetingRoom": Case(attackers=("other_district", "other_school_leader"), is_screen=True),
    "getSignInOptions": Exempt("what the sign-in page offers; public by design, names no district"),
    # metrics-api
    "listOrgs": Exempt("the organization directory is public (NCES and state ids)"),
    "getOrg": Exempt("the organization directory is public (NCES and state ids)"),
    "createOrg": Case(lambda w: {"type": "school", "name": f"{MARK} school", "state_code": "SW", "state_id": f"X{uuid.uuid4().hex[:8]}", "parent_id": w["district_a"]}),
    "updateOrg": Case(lambda w: {"name": f"{MARK} renamed"}),
    "listMetrics": Exempt("the metric catalog is public"),
    "listObservations": Case(params=lambda w: {"org": w["district_a"]}, attackers=("other_district",)),
    "listFrameworks": Exempt("accountability frameworks are published rules"),
    "getFramework": Exempt("accountability frameworks are published rules"),
    "createFramework": Case(lambda w: {"code": "SWEEP", "name": MARK, "version": "1", "state_code": "SW", "rules": {}}),
    "getScore": Case(attackers=("other_district", "client_without_scope")),
    "getScoreRisk": Case(attackers=("other_district", "client_without_scope")),
    "scoreWhatIf": Case(lambda w: {"changes": []}, attackers=("other_district", "client_without_scope")),
    "computeScores": Case(lambda w: {}, attackers=NOT_LEADER),
    "getScorecard": Case(attackers=("other_district", "client_without_scope")),
    # Gaps and benchmarks read public state data for any org; A's gap targets must not come with them.
    "getEquityGaps": Case(params=lambda w: {"metric": "graduation_rate_4yr"}, public_data=True),
    "getBenchmarks": Case(params=lambda w: {"metric": "graduation_rate_4yr"}, public_data=True),
    "createTarget": Case(lambda w: {"org_id": w["school_a1"], "metric": "graduation_rate_4yr", "title": f"{MARK} foreign", "baseline_period": "2024-25",
                                    "baseline_value": 1, "target_period": "2026-27", "target_value": 2}, attackers=NOT_LEADER + ("other_school_leader",)),
    "listTargets": Case(params=lambda w: {"org": w["school_a1"]}),
    "getTarget": Case(),
    "updateTarget": Case(lambda w: {"title": "taken"}),
    "deleteTarget": Case(),
    # routines-api
    "createPlan": Case(lambda w: {"district_id": w["district_a"], "school_year": "2026-27", "title": f"{MARK} foreign plan"}, attackers=WRITERS_ONLY + ("staff",)),
    "listPlans": Case(params=lambda w: {"district": w["district_a"]}, attackers=WRITERS_ONLY),
    "getPlan": Case(attackers=WRITERS_ONLY),
    "updatePlan": Case(lambda w: {"title": "taken"}, attackers=NOT_LEADER),
    "createGoal": Case(lambda w: {"plan_id": w["plan_id"], "title": "taken", "metric": "graduation_rate_4yr", "baseline_period": "2024-25", "baseline_value": 1, "target_period": "2026-27", "target_value": 2}, attackers=NOT_LEADER),
    "listGoals": Case(params=lambda w: {"district": w["district_a"]}),
    "getGoal": Case(),
    "updateGoal": Case(lambda w: {"title": "taken"}),
    "syncGoalTarget": Case(),
    "getGoalProgress": Case(),
    "recordJudgment": Case(lambda w: {"rating": "red", "rationale": "taken"}),
    "listJudgments": Case(),
    "createStrategy": Case(lambda w: {"goal_id": w["goal_id"], "title": "taken"}),
    "listStrategies": Case(params=lambda w: {"goal": w["goal_id"]}),
    "createMilestone": Case(lambda w: {"strategy_id": w["strategy_id"], "title": "taken", "due_date": _later(30)}),
    "updateMilestone": Case(lambda w: {"status": "missed"}),
    "createRoutine": Case(lambda w: {"district_id": w["district_a"], "school_id": w["school_a1"], "title": "taken", "kind": "stocktake", "rrule": "FREQ=WEEKLY;COUNT=1", "starts_at": "2026-09-15T09:00:00"}),
    "listRoutines": Case(params=lambda w: {"district": w["district_a"]}),
    "getRoutine": Case(),
    "updateRoutine": Case(lambda w: {"title": "taken"}),
    "listRoutineMeetings": Case(),
    "getRoutineCalendar": Case(),
    "getRoutineFollowThrough": Case(),
    "createCalendarFeed": Exempt("creates the caller's own feed of the caller's own meetings; nothing of another district is named"),
    "getPersonalCalendar": Case(attackers=("other_district",)),  # a forged feed token: see _path_ids
    "listMeetings": Case(params=lambda w: {"district": w["district_a"]}),
    "getMeeting": Case(),
    "updateMeeting": Case(lambda w: {"notes": "taken"}),
    "cancelMeeting": Case(),
    "markMeetingHeld": Case(),
    "getMeetingAgenda": Case(),
    "getMeetingPack": Case(),
    "publishMeetingPack": Case(),
    "getMeetingMemo": Case(),
    "recordDecision": Case(lambda w: {"text": "taken"}),
    "listDecisions": Case(),
    "createAction": Case(lambda w: {"title": "taken", "owner": "x", "due_date": _later(5), "meeting_id": w["meeting_id"]}),
    "listActions": Case(params=lambda w: {"district": w["district_a"]}),
    "getAction": Case(),
    "updateAction": Case(lambda w: {"title": "taken"}),
    "changeActionStatus": Case(lambda w: {"status": "dropped"}),
    "listCapacityRubrics": Case(params=lambda w: {"district": w["district_a"]}, attackers=WRITERS_ONLY),
    "createCapacityRubric": Case(lambda w: {"district_id": w["district_a"], "name": "taken", "dimensions": [{"code": "x", "name": "x"}]}, attackers=WRITERS_ONLY + ("staff",)),
    "createCapacityReview": Case(lambda w: {"district_id": w["district_a"], "rubric_id": w["rubric_id"], "reviewed_on": _later(0), "ratings": [{"dimension": "focus", "rating": 1, "evidence": "taken"}]}, attackers=WRITERS_ONLY + ("staff",)),
    "listCapacityReviews": Case(params=lambda w: {"district": w["district_a"]}, attackers=WRITERS_ONLY),
    "getCapacityReview": Case(attackers=WRITERS_ONLY),
    "createWebhookSubscription": Case(lambda w: {"url": "http://127.0.0.1:9/attacker", "events": ["action.created"], "district_id": w["district_a"]}, attackers=WRITERS_ONLY + ("staff",)),
    "listWebhookSubscriptions": Case(params=lambda w: {"district": w["district_a"]}, attackers=WRITERS_ONLY + ("staff",)),
    "getWebhookSubscription": Case(attackers=WRITERS_ONLY + ("staff",)),
    "updateWebhookSubscription": Case(lambda w: {"url": "http://127.0.0.1:9/attacker"}, attackers=WRITERS_ONLY + ("staff",)),
    "deleteWebhookSubscription": Case(attackers=WRITERS_ONLY + ("staff",)),
    "listWebhookDeliveries": Case(attackers=WRITERS_ONLY + ("staff",)),
    # ingest
    "uploadIngestFile": Exempt(PLATFORM_ONLY + "; multipart: refused by role in test_bad_input.py"),
    "listIngestJobs": Case(),
    "getIngestJob": Case(),
    "cancelIngestJob": Case(),
    "listIngestJobErrors": Case(),
    # A's SIS source (its name carries the marker) is among A's data loads: no one else may list them.
    "listDataLoads": Case(params=lambda w: {"district": w["district_a"]}, attackers=("other_district", "client_without_scope")),
    # Mapping profiles describe public state file layouts: any ingest reader may read them.
    "listIngestProfiles": Case(attackers=("client_without_scope",)),
    "createIngestProfile": Case(lambda w: {"code": "sweep", "name": MARK, "format": "csv", "columns": {}}),
    "getIngestProfile": Case(attackers=("client_without_scope",)),
    "updateIngestProfile": Case(lambda w: {"name": MARK, "format": "csv", "columns": {}}),
    "createIngestFeed": Case(lambda w: {"name": MARK, "url": "https://attacker.example/f.csv", "profile": "x"}),
    "listIngestFeeds": Case(),
    "getIngestFeed": Case(),
    "updateIngestFeed": Case(lambda w: {"url": "https://attacker.example/f.csv"}),
    "runIngestFeed": Case(),
    "createSisSource": Case(lambda w: {"name": "taken", "vendor": "PowerSchool", "district_id": w["district_a"]}, attackers=WRITERS_ONLY + ("staff",)),
    "listSisSources": Case(attackers=WRITERS_ONLY),
    "getSisSource": Case(attackers=WRITERS_ONLY),
    "rotateSisSourceSecret": Case(attackers=WRITERS_ONLY + ("staff",)),
    "listSisDeliveries": Case(attackers=WRITERS_ONLY),
    "listSisQuarantine": Case(attackers=WRITERS_ONLY),
    "uploadRoster": Exempt("multipart: another district, staff and a client without ingest:write are refused in test_ingest_rosters.py"),
    # A bearer token is not a signature: every attacker's delivery is refused (401 Standard Webhooks).
    "receiveSisWebhook": Case(lambda w: {"resource": "schools", "action": "upsert", "data": []}, refused=frozenset({401, 403, 404})),
}

# path parameter -> key of A's world; per path prefix where the same name means different things
PATH_IDS = {
    "plan_id": "plan_id", "goal_id": "goal_id", "milestone_id": "milestone_id", "routine_id": "routine_id",
    "meeting_id": "meeting_id", "action_id": "action_id", "review_id": "review_id", "subscription_id": "subscription_id",
    "source_id": "sis_source_id", "org_id": "district_a", "job_id": "random_id", "feed_id": "random_id",
    "code": "profile_code", "token": "forged_feed_token", "target_id": "target_id", "user_id": "user_id",
}


def _path_ids(path: str, world: dict) -> str:
    if path.startswith("/api/v1/api-clients/"):
        path = path.replace("{id}", world["api_client_id"])
    for name, key in PATH_IDS.items():
        path = path.replace("{" + name + "}", str(world[key]))
    assert "{" not in path, f"no id of A for {path}: extend PATH_IDS"
    return path


def _operations(doc: dict) -> dict[str, tuple[str, str]]:
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def _token(settings, keyring, role: str, *, districts=(), schools=(), scopes=(), kind=PrincipalKind.user) -> dict:
    token, _ = issue_token(
        settings, keyring, subject=f"sweep:{role}:{uuid.uuid4().hex[:6]}", kind=kind, roles=[role], district_ids=districts, school_ids=schools, scopes=scopes
    )
    return {"authorization": f"Bearer {token}"}


async def _ok(response: httpx.Response, status: int = 201) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


async def _org(api, admin, body) -> str:
    found = (await api.get("/api/v1/orgs", params={"state_id": body["state_id"], "type": body["type"]}, headers=admin)).json()["items"]
    return found[0]["id"] if found else (await _ok(await api.post("/api/v1/orgs", json=body, headers=admin)))["id"]


@dataclass
class World:
    ids: dict[str, Any] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)  # request ids of A's writes: each must be audited
    snapshot: dict[str, str] = field(default_factory=dict)  # path -> A's view before the attacks


async def _build_world(api: httpx.AsyncClient, settings, keyring) -> tuple[World, dict[str, dict], dict]:
    platform_admin = _token(settings, keyring, "platform_admin")
    state = await _org(api, platform_admin, {"type": "state", "name": "Sweep", "state_code": "SW", "state_id": "SW"})
    district_a = await _org(api, platform_admin, {"type": "district", "name": "Sweep A", "state_code": "SW", "state_id": "SWP-A", "parent_id": state})
    district_b = await _org(api, platform_admin, {"type": "district", "name": "Sweep B", "state_code": "SW", "state_id": "SWP-B", "parent_id": state})
    school_a1 = await _org(api, platform_admin, {"type": "school", "name": "Sweep A1", "state_code": "SW", "state_id": "SWP-A1", "parent_id": district_a})
    school_a2 = await _org(api, platform_admin, {"type": "school", "name": "Sweep A2", "state_code": "SW", "state_id": "SWP-A2", "parent_id": district_a})
    world = World(ids={"district_a": district_a, "school_a1": school_a1, "random_id": str(uuid.uuid4()), "forged_feed_token": "k12cal_" + uuid.uuid4().hex})
    admin_a = _token(settings, keyring, "district_admin", districts=[uuid.UUID(district_a)])

    async def write(method: str, path: str, body: Any, key: str | None = None, status: int = 201) -> dict:
        request_id = f"sweep-{uuid.uuid4().hex}"
        world.writes.append(request_id)
        out = await _ok(await api.request(method, path, json=body, headers={**admin_a, "x-request-id": request_id}), status)
        if key:
            world.ids[key] = out["id"]
        return out

    await write("POST", "/api/v1/users", {"email": f"person.{uuid.uuid4().hex[:8]}@sweep-a.example", "display_name": f"{MARK} person", "role": "staff"}, "user_id")
    client = await write("POST", "/api/v1/api-clients", {"name": f"{MARK} partner", "scopes": ["metrics:read", "routines:read"]}, "api_client_id")
    plan = await write("POST", "/api/v1/plans", {"school_year": "2026-27", "title": f"{MARK} plan"}, "plan_id")
    await write("POST", "/api/v1/goals", {
        "plan_id": plan["id"], "school_id": school_a1, "title": f"{MARK} goal", "metric": "graduation_rate_4yr", "subgroup": "all",
        "baseline_period": "2024-25", "baseline_value": 80, "target_period": "2027-28", "target_value": 90,
    }, "goal_id")
    await write("POST", "/api/v1/strategies", {"goal_id": world.ids["goal_id"], "title": f"{MARK} strategy"}, "strategy_id")
    await write("POST", "/api/v1/milestones", {"strategy_id": world.ids["strategy_id"], "title": f"{MARK} milestone", "due_date": _later(60)}, "milestone_id")
    await write("POST", "/api/v1/targets", {
        "org_id": school_a1, "metric": "graduation_rate_4yr", "subgroup": "swd", "reference_subgroup": "all", "title": f"{MARK} gap target",
        "baseline_period": "2024-25", "baseline_value": -12, "target_period": "2027-28", "target_value": -6,
    }, "target_id")
    await write("POST", f"/api/v1/goals/{world.ids['goal_id']}/judgments", {"rating": "amber_green", "rationale": f"{MARK} judgment"})
    await write("POST", "/api/v1/routines", {
        "school_id": school_a1, "title": f"{MARK} stocktake", "kind": "stocktake", "goal_ids": [world.ids["goal_id"]],
        "rrule": "FREQ=MONTHLY;COUNT=3", "starts_at": f"{_later(10)}T09:00:00", "timezone": "America/Chicago",
    }, "routine_id")
    meetings = (await api.get(f"/api/v1/routines/{world.ids['routine_id']}/meetings", headers=admin_a)).json()["items"]
    world.ids["meeting_id"] = meetings[0]["id"]
    await write("POST", f"/api/v1/meetings/{world.ids['meeting_id']}/decisions", {"text": f"{MARK} decision"})
    await write("POST", "/api/v1/actions", {"title": f"{MARK} action", "owner": "sweep:owner", "due_date": _later(3), "meeting_id": world.ids["meeting_id"], "school_id": school_a1}, "action_id")
    rubric = await write("POST", "/api/v1/capacity-rubrics", {"name": f"{MARK} rubric", "dimensions": [{"code": "focus", "name": f"{MARK} focus"}]}, "rubric_id")
    await write("POST", "/api/v1/capacity-reviews", {"rubric_id": rubric["id"], "reviewed_on": _later(0), "ratings": [{"dimension": "focus", "rating": 3, "evidence": f"{MARK} evidence"}]}, "review_id")
    await write("POST", "/api/v1/webhook-subscriptions", {"url": "http://127.0.0.1:9/hooks", "events": ["action.created"]}, "subscription_id")
    source = await write("POST", "/api/v1/ingest/sis-sources", {"name": f"{MARK} SIS", "vendor": "PowerSchool", "district_id": district_a}, "sis_source_id")
    profiles = (await api.get("/api/v1/ingest/profiles", headers=platform_admin)).json()["items"]
    world.ids["profile_code"] = profiles[0]["code"] if profiles else "none"

    # An API client of A for each half of the API, each lacking the other half's scopes.
    clients = {}
    for scope in ("metrics:read", "routines:read"):
        created = await _ok(await api.post("/api/v1/api-clients", json={"name": f"sweep {scope}", "scopes": [scope]}, headers=admin_a))
        token = await _ok(await api.post("/auth/token", data={"grant_type": "client_credentials", "client_id": created["client_id"], "client_secret": created["client_secret"]}), 200)
        clients[scope] = {"authorization": f"Bearer {token['access_token']}"}
    attackers = {
        "other_district": _token(settings, keyring, "district_admin", districts=[uuid.UUID(district_b)]),
        "other_school_leader": _token(settings, keyring, "leader", districts=[uuid.UUID(district_a)], schools=[uuid.UUID(school_a2)]),
        "staff": _token(settings, keyring, "staff", districts=[uuid.UUID(district_a)]),
        "client_routines_only": clients["routines:read"],
        "client_metrics_only": clients["metrics:read"],
    }
    secrets = {client["client_secret"], source["secret"]}
    return world, attackers, {"admin_a": admin_a, "platform_admin": platform_admin, "secrets": secrets}


# A's resources, read back by A before and after the attacks: they must not change.
SNAPSHOT_PATHS = (
    "/api/v1/plans/{plan_id}", "/api/v1/goals/{goal_id}", "/api/v1/goals/{goal_id}/judgments", "/api/v1/strategies?goal={goal_id}",
    "/api/v1/routines/{routine_id}", "/api/v1/routines/{routine_id}/meetings", "/api/v1/meetings/{meeting_id}", "/api/v1/meetings/{meeting_id}/decisions",
    "/api/v1/actions/{action_id}", "/api/v1/capacity-reviews/{review_id}", "/api/v1/webhook-subscriptions/{subscription_id}",
    "/api/v1/ingest/sis-sources/{sis_source_id}", "/api/v1/api-clients/{api_client_id}", "/api/v1/orgs/{district_a}", "/api/v1/users/{user_id}",
    "/api/v1/targets/{target_id}",
)


async def _snapshot(api, world: World, headers: dict) -> dict[str, Any]:
    views = {}
    for template in SNAPSHOT_PATHS:
        path = template.format(**world.ids)
        response = await api.get(path, headers=headers)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        views[path] = response.json()
    return views


def _client_for(path: str, attackers: dict) -> dict:
    """The API client of A that lacks the scope this path needs."""
    metrics_paths = ("/api/v1/orgs", "/api/v1/metrics", "/api/v1/observations", "/api/v1/frameworks", "/api/v1/targets", "/api/v1/subgroups")
    return attackers["client_routines_only"] if path.startswith(metrics_paths) else attackers["client_metrics_only"]


@pytest.fixture(scope="module")
async def built(api, settings):
    return await _build_world(api, settings, Keyring(settings))


async def test_every_operation_refuses_every_attacker_and_nothing_of_a_leaks_or_changes(api, built):
    doc = (await api.get("/openapi.json")).json()
    operations = _operations(doc)
    uncovered = sorted(set(operations) - set(OPERATIONS))
    assert not uncovered, f"routes the sweep does not cover (add them to OPERATIONS, or exempt them with a reason): {uncovered}"

    world, attackers, who = built
    before = await _snapshot(api, world, who["admin_a"])

    attempts, failures = 0, []
    for operation_id, (method, template) in sorted(operations.items()):
        case = OPERATIONS[operation_id]
        if isinstance(case, Exempt):
            continue
        path = _path_ids(template, world.ids)
        is_list = method == "GET" and ("{" not in template or case.is_screen or case.public_data)
        for attacker in case.attackers:
            if attacker == "staff" and method == "GET":
                continue
            headers = _client_for(template, attackers) if attacker == "client_without_scope" else attackers[attacker]
            kwargs: dict[str, Any] = {"headers": headers, "params": case.params(world.ids) if case.params else None}
            if case.body is not None:
                kwargs["json"] = case.body(world.ids)
            response = await api.request(method, path, **kwargs)
            attempts += 1
            if is_list and response.status_code == 200:
                pass  # a list of the caller's own: it must only not carry A's items (checked below)
            elif response.status_code not in case.refused:
                failures.append(f"{operation_id} {method} {path} as {attacker}: {response.status_code} {response.text[:200]}")
            elif not response.headers.get("content-type", "").startswith("application/problem+json"):
                failures.append(f"{operation_id} as {attacker}: refused without problem+json")
            if MARK in response.text:
                failures.append(f"{operation_id} as {attacker}: A's data leaked")
    assert not failures, f"{len(failures)} of {attempts} attacks not refused:\n" + "\n".join(failures)

    assert await _snapshot(api, world, who["admin_a"]) == before, "an attack changed A's data"
    print(f"\nsweep: {len(operations)} operations, {len(operations) - sum(isinstance(c, Exempt) for c in OPERATIONS.values())} attacked, {attempts} attacks refused")


async def test_lists_of_another_district_show_nothing_of_a(api, built):
    """Lists asked without naming a district answer the caller's own: none of A's items."""
    world, attackers, who = built
    doc = (await api.get("/openapi.json")).json()
    lists = [(m, p) for m, p in _operations(doc).values() if m == "GET" and "{" not in p]
    leaked = []
    for _, path in lists:
        response = await api.get(path, headers=attackers["other_district"])
        if MARK in response.text:
            leaked.append(path)
    assert not leaked, leaked


async def test_every_write_of_a_is_in_the_audit_log(api, built):
    world, _, who = built
    seen: set[str] = set()
    cursor = None
    while True:
        page = await _ok(await api.get("/api/v1/audit", params={"limit": 500} | ({"cursor": cursor} if cursor else {}), headers=who["admin_a"]), 200)
        seen |= {e["request_id"] for e in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    missing = [rid for rid in world.writes if rid not in seen]
    assert not missing, f"{len(missing)} of {len(world.writes)} writes of A left no audit entry"
