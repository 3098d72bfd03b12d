"""Capacity reviews against a rubric stored as data, rated 1–4 with evidence, compared over time."""

from __future__ import annotations

DEFAULT = "5f0c8a2e-4c61-4d1f-9a57-1d2b3c4d5e60"


def _ratings(values: dict[str, int]) -> list[dict]:
    return [{"dimension": d, "rating": r, "evidence": f"Evidence for {d}"} for d, r in values.items()]


async def test_rubric_is_data_and_reviews_compare_with_the_previous(client, admin):
    rubrics = (await client.get("/api/v1/capacity-rubrics", headers=admin)).json()["items"]
    default = next(r for r in rubrics if r["id"] == DEFAULT)
    codes = [d["code"] for d in default["dimensions"]]
    assert codes == ["foundation", "challenge", "plan", "drive", "culture"]
    first = await client.post("/api/v1/capacity-reviews", json={"reviewed_on": "2026-08-01", "ratings": _ratings(dict.fromkeys(codes, 2))}, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["previous_review_id"] is None and first.json()["comparison"][0]["change"] is None
    second = await client.post("/api/v1/capacity-reviews", json={"reviewed_on": "2027-01-15", "ratings": _ratings({**dict.fromkeys(codes, 2), "drive": 4, "culture": 1})}, headers=admin)
    body = second.json()
    assert body["previous_review_id"] == first.json()["id"]
    changes = {c["dimension"]: c["change"] for c in body["comparison"]}
    assert changes == {"foundation": 0, "challenge": 0, "plan": 0, "drive": 2, "culture": -1}
    assert body["average"] == 2.2
    listed = (await client.get("/api/v1/capacity-reviews", headers=admin)).json()["items"]
    assert [r["id"] for r in listed] == [body["id"], first.json()["id"]]


async def test_ratings_must_cover_the_rubric_on_the_one_to_four_scale(client, admin):
    partial = await client.post("/api/v1/capacity-reviews", json={"reviewed_on": "2026-08-01", "ratings": _ratings({"foundation": 2})}, headers=admin)
    assert partial.status_code == 422
    five = await client.post("/api/v1/capacity-reviews", json={"reviewed_on": "2026-08-01", "ratings": _ratings({"foundation": 5})}, headers=admin)
    assert five.status_code == 422


async def test_a_district_rubric_of_its_own(client, admin, outsider):
    rubric = await client.post("/api/v1/capacity-rubrics", json={"name": "Ours", "dimensions": [{"code": "data", "name": "Data use"}]}, headers=admin)
    assert rubric.status_code == 201
    review = await client.post("/api/v1/capacity-reviews", json={"rubric_id": rubric.json()["id"], "reviewed_on": "2026-09-01", "ratings": _ratings({"data": 3})}, headers=admin)
    assert review.status_code == 201
    assert (await client.get(f"/api/v1/capacity-reviews/{review.json()['id']}", headers=outsider)).status_code == 404
    theirs = await client.post("/api/v1/capacity-reviews", json={"rubric_id": rubric.json()["id"], "reviewed_on": "2026-09-01", "ratings": _ratings({"data": 3})}, headers=outsider)
    assert theirs.status_code == 404
