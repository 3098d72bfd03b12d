"""Plans → goals (metric, subgroup, target, owner, delivery chain) → strategies → milestones; judgments."""

from __future__ import annotations

from sqlalchemy import select

from k12shared.models import OutboxEvent


async def test_goal_keeps_its_target_and_says_when_metrics_is_unavailable(client, admin, goal):
    assert goal["metric"] == "graduation_rate_4yr" and goal["subgroup"] == "all"
    assert goal["owner"] == "test:admin"
    assert goal["baseline_period"] == "2024-25" and goal["target_value"] == 89.0
    assert goal["target"]["status"] == "unavailable" and goal["target"]["target_id"] is None
    assert "unreachable" in goal["target"]["error"]
    assert [link["role"] for link in goal["delivery_chain"]] == ["superintendent", "principals"]


async def test_unknown_metric_is_refused(client, admin, plan):
    body = {"plan_id": plan["id"], "title": "x", "metric": "no_such_metric", "baseline_period": "2024-25", "baseline_value": 1, "target_period": "2025-26", "target_value": 2}
    response = await client.post("/api/v1/goals", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["field"] == "metric"


async def test_target_period_must_follow_baseline(client, admin, plan):
    body = {"plan_id": plan["id"], "title": "x", "metric": "graduation_rate_4yr", "baseline_period": "2025-26", "baseline_value": 1, "target_period": "2024-25", "target_value": 2}
    assert (await client.post("/api/v1/goals", json=body, headers=admin)).status_code == 422


async def test_strategies_and_milestones_form_the_plan(client, admin, plan, goal):
    strategy = await client.post("/api/v1/strategies", json={"goal_id": goal["id"], "title": "Early-warning system", "owner": "test:coach"}, headers=admin)
    assert strategy.status_code == 201, strategy.text
    milestone = await client.post(
        "/api/v1/milestones", json={"strategy_id": strategy.json()["id"], "title": "Flag every off-track 9th grader", "due_date": "2026-10-01"}, headers=admin
    )
    assert milestone.status_code == 201, milestone.text
    done = await client.patch(f"/api/v1/milestones/{milestone.json()['id']}", json={"status": "done"}, headers=admin)
    assert done.json()["status"] == "done"
    detail = (await client.get(f"/api/v1/goals/{goal['id']}", headers=admin)).json()
    assert detail["strategies"][0]["title"] == "Early-warning system"
    assert detail["strategies"][0]["milestones"][0]["status"] == "done"
    plan_detail = (await client.get(f"/api/v1/plans/{plan['id']}", headers=admin)).json()
    assert [g["id"] for g in plan_detail["goals"]] == [goal["id"]]
    assert plan_detail["school_year"] == "2026-27"


async def test_judgments_are_kept_as_history_apart_from_data_status(client, admin, goal, session):
    for rating, why in [("amber_green", "On plan, attendance slipping"), ("red", "Two high schools off track")]:
        response = await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": rating, "rationale": why}, headers=admin)
        assert response.status_code == 201, response.text
    history = (await client.get(f"/api/v1/goals/{goal['id']}/judgments", headers=admin)).json()["items"]
    assert [j["rating"] for j in history] == ["red", "amber_green"]
    listed = (await client.get("/api/v1/goals", headers=admin)).json()["items"]
    assert listed[0]["latest_judgment"]["rating"] == "red"
    assert listed[0]["target"]["status"] == "unavailable"  # the data's status is a separate thing
    events = list(await session.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "judgment.recorded")))
    assert len(events) >= 2


async def test_a_judgment_off_the_scale_is_refused(client, admin, goal):
    response = await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "amber", "rationale": "?"}, headers=admin)
    assert response.status_code == 422


async def test_another_district_cannot_read_or_change_a_plan(client, outsider, plan, goal):
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/goals/{goal['id']}", headers=outsider)).status_code == 404
    assert (await client.patch(f"/api/v1/goals/{goal['id']}", json={"title": "mine"}, headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/goals/{goal['id']}/judgments", json={"rating": "red", "rationale": "x"}, headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/goals", headers=outsider)).json()["items"] == []


async def test_staff_cannot_create_plans(client, make_token, auth, district):
    staff = auth(make_token("staff", district_ids=[district.id]))
    response = await client.post("/api/v1/plans", json={"school_year": "2026-27", "title": "x"}, headers=staff)
    assert response.status_code == 403
