"""Roster archives: the real OneRoster samples read, and every kind of hostile zip refused before it is unpacked."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest

from k12shared.settings import REPO_ROOT
from k12_ingest.rosters.archive import ArchiveLimits, ArchiveRefused
from k12_ingest.rosters.oneroster import read_roster

SAMPLES = REPO_ROOT / "demo" / "data" / "oneroster"
LIMITS = ArchiveLimits(max_members=32, max_member_bytes=8 * 1024 * 1024, max_total_bytes=16 * 1024 * 1024, max_ratio=100)
ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nsch-1,active,,North High,school,4800001,dist-1\n"
ENROLLMENTS = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"


def make_zip(path: Path, members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def refused(path: Path, limits: ArchiveLimits = LIMITS) -> ArchiveRefused:
    with pytest.raises(ArchiveRefused) as caught:
        read_roster(path, limits)
    return caught.value


@pytest.mark.parametrize("version,ignored", [("1.1", ["users.csv"]), ("1.2", ["roles.csv", "userprofiles.csv", "users.csv"])])
def test_the_real_samples_give_their_student_enrollments_and_users_csv_is_never_read(version, ignored):
    roster = read_roster(SAMPLES / f"oneroster-v{version.replace('.', 'p')}-full.zip", LIMITS)
    assert roster.version == version
    assert sorted(roster.ignored_members) == ignored  # names live in users.csv: it stays packed
    assert [a["studentReference"]["studentUniqueId"] for a in roster.associations] == ["usr-222-987654", "usr-222-1234561232"]
    assert {a["schoolReference"]["schoolId"] for a in roster.associations} == {"org-sch-222-456"}  # a department, not a school: held until it exists
    assert roster.schools == []


def test_a_students_class_enrollments_at_one_school_make_one_association_spanning_them(tmp_path):
    enrollments = ENROLLMENTS + "".join(
        [
            "e1,active,,c1,sch-1,stu-1,student,false,2022-08-20,2022-12-20\n",
            "e2,active,,c2,sch-1,stu-1,student,false,2023-01-05,2023-05-25\n",
            "e3,active,,c1,sch-1,tch-1,teacher,true,2022-08-20,2023-05-25\n",
            "e4,tobedeleted,,c1,sch-1,stu-2,student,false,2022-08-20,2023-05-25\n",
            "e5,active,,c9,sch-1,stu-3,student,false,,\n",
        ]
    )
    roster = read_roster(make_zip(tmp_path / "r.zip", {"orgs.csv": ORGS, "enrollments.csv": enrollments}), LIMITS)
    assert roster.schools == [{"schoolId": "4800001", "nameOfInstitution": "North High"}]
    assert roster.associations == [
        {
            "studentReference": {"studentUniqueId": "stu-1"},
            "schoolReference": {"schoolId": "4800001"},
            "schoolYearTypeReference": {"schoolYear": 2023},
            "entryDate": "2022-08-20",
            "exitWithdrawDate": "2023-05-25",
        }
    ]
    assert roster.rows_skipped == 1 and "line 6" in roster.problems[0]  # no date and no class term to stand in


def test_a_deflate_bomb_is_refused_from_its_declared_ratio(tmp_path):
    bomb = make_zip(tmp_path / "bomb.zip", {"orgs.csv": ORGS, "enrollments.csv": ENROLLMENTS + "\n" * (6 * 1024 * 1024)})
    error = refused(bomb)
    assert error.too_large and error.member == "enrollments.csv" and "zip bomb" in error.detail


def test_a_member_whose_header_lies_about_its_size_is_refused_while_inflating(tmp_path):
    honest = make_zip(tmp_path / "honest.zip", {"orgs.csv": ORGS, "enrollments.csv": ENROLLMENTS + "x" * 200_000})
    data = bytearray(honest.read_bytes())
    info = zipfile.ZipFile(honest).getinfo("enrollments.csv")
    # Claim 100 bytes in both the local header and the central directory: the ratio check sees nothing wrong.
    struct.pack_into("<I", data, info.header_offset + 22, 100)
    offset = data.find(b"PK\x01\x02")
    while offset != -1:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if bytes(data[offset + 46 : offset + 46 + name_length]) == b"enrollments.csv":
            struct.pack_into("<I", data, offset + 24, 100)
        offset = data.find(b"PK\x01\x02", offset + 4)
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data))
    error = refused(liar)
    assert error.member == "enrollments.csv" and ("corrupt" in error.detail or "past its declared size" in error.detail)


def test_past_the_total_the_archive_is_refused_even_when_each_member_is_small(tmp_path):
    limits = ArchiveLimits(max_members=32, max_member_bytes=1024 * 1024, max_total_bytes=300_000, max_ratio=1000)
    archive = make_zip(tmp_path / "big.zip", {"orgs.csv": ORGS + "x" * 200_000, "enrollments.csv": ENROLLMENTS + "y" * 200_000})
    assert refused(archive, limits).too_large


def test_too_many_members_are_refused_before_any_is_read(tmp_path):
    members = {"orgs.csv": ORGS, "enrollments.csv": ENROLLMENTS} | {f"extra/{i}.csv": "a" for i in range(40)}
    error = refused(make_zip(tmp_path / "many.zip", members))
    assert error.too_large and "40" not in error.detail and "42 members" in error.detail


@pytest.mark.parametrize("name", ["../orgs.csv", "/etc/orgs.csv", "a\\..\\orgs.csv", "C:/orgs.csv"])
def test_a_path_that_leaves_the_archive_is_refused(tmp_path, name):
    error = refused(make_zip(tmp_path / "path.zip", {name: ORGS, "enrollments.csv": ENROLLMENTS}))
    assert "leaves the archive" in error.detail


def test_an_archive_inside_the_archive_is_not_unpacked(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("orgs.csv", ORGS)
        zf.writestr("enrollments.csv", ENROLLMENTS)
    error = refused(make_zip(tmp_path / "nested.zip", {"inner.zip": inner.getvalue()}))
    assert "no orgs.csv" in error.detail


@pytest.mark.parametrize(
    "members,expected",
    [
        ({"orgs.csv": "sourcedId,name\n1,x\n", "enrollments.csv": ENROLLMENTS}, "orgs.csv lacks required columns: type"),
        ({"orgs.csv": ORGS.encode("utf-16"), "enrollments.csv": ENROLLMENTS}, "orgs.csv"),
        ({"orgs.csv": ORGS}, "no enrollments.csv"),
    ],
)
def test_a_malformed_roster_is_refused_naming_the_file(tmp_path, members, expected):
    assert expected in refused(make_zip(tmp_path / "bad.zip", members)).detail


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "roster.zip"
    path.write_bytes(b"sourcedId,name\n" * 10)
    assert "not a readable zip" in refused(path).detail
