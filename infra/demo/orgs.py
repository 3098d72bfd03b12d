"""Demo organizations: Missouri and its 26 St. Louis-area districts, and Grand Bend ISD (Ed-Fi sample)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx

DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


def ensure_org(api: httpx.Client, body: dict, lookup: dict) -> dict:
    found = api.get("/api/v1/orgs", params=lookup).raise_for_status().json()["items"]
    if found:
        return found[0]
    return api.post("/api/v1/orgs", json=body).raise_for_status().json()


def run(api: httpx.Client) -> None:
    missouri = ensure_org(api, {"type": "state", "name": "Missouri", "state_code": "MO", "state_id": "MO"}, {"state_id": "MO", "type": "state"})
    with open(DATA / "missouri-dese" / "district-names-and-codes.csv", newline="") as f:
        for row in csv.DictReader(f):
            code = row["county_district_code"].zfill(6)
            ensure_org(
                api,
                {"type": "district", "name": row["district_name"].title(), "state_code": "MO", "state_id": code, "parent_id": missouri["id"]},
                {"state_id": code, "type": "district"},
            )
    texas = ensure_org(api, {"type": "state", "name": "Texas", "state_code": "TX", "state_id": "TX"}, {"state_id": "TX", "type": "state"})
    sample = json.loads((DATA / "ed-fi-grand-bend" / "schools.json").read_text())
    for lea in sample["localEducationAgencies"]:
        lea_id = str(lea["localEducationAgencyId"])
        district = ensure_org(
            api,
            {"type": "district", "name": lea["nameOfInstitution"], "state_code": "TX", "state_id": lea_id, "edfi_id": lea_id, "parent_id": texas["id"]},
            {"state_id": lea_id, "type": "district"},
        )
        for school in sample["schools"]:
            if school["localEducationAgencyReference"]["localEducationAgencyId"] != lea["localEducationAgencyId"]:
                continue
            school_id = str(school["schoolId"])
            ensure_org(
                api,
                {"type": "school", "name": school["nameOfInstitution"], "state_code": "TX", "state_id": school_id, "edfi_id": school_id, "parent_id": district["id"]},
                {"state_id": school_id, "type": "school"},
            )
    print("demo: organizations ready", flush=True)
