"""Open a roster archive without trusting it.

A zip names its members' sizes in headers the sender wrote, so nothing here believes them: the member
count, the declared sizes and compression ratios are checked first (cheap refusals), and every byte is
then counted as it is inflated, so a member that unpacks past what it declared or past the limits is
refused mid-stream. Only the members asked for are read; paths that climb out (``..``, absolute,
backslashes), encrypted members and archives inside the archive are refused or ignored, never unpacked.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int
    max_member_bytes: int
    max_total_bytes: int
    max_ratio: int  # uncompressed over compressed, per member
    ratio_applies_from_bytes: int = 1024 * 1024  # tiny members compress absurdly well and harm nobody


class ArchiveRefused(Exception):
    """The archive as a whole is refused; nothing of it is used. ``too_large`` answers 413, else 422."""

    def __init__(self, detail: str, *, member: str | None = None, too_large: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.member, self.too_large = detail, member, too_large


@dataclass
class SafeArchive:
    """The members of an archive by their base name (``orgs.csv``), opened one at a time as text."""

    zip: zipfile.ZipFile
    limits: ArchiveLimits
    members: dict[str, zipfile.ZipInfo]
    ignored: list[str] = field(default_factory=list)
    inflated: int = 0  # bytes unpacked so far, all members together

    def has(self, name: str) -> bool:
        return name in self.members

    @contextmanager
    def text(self, name: str) -> Iterator[io.TextIOBase]:
        """A member as UTF-8 text (a BOM dropped), inflated under the limits as it is read."""
        info = self.members[name]
        with self.zip.open(info) as raw:
            capped = _CappedReader(raw, self, info)
            yield io.TextIOWrapper(io.BufferedReader(capped, READ_CHUNK), encoding="utf-8-sig", errors="strict", newline="")


@contextmanager
def open_archive(path: Path, wanted: set[str], limits: ArchiveLimits) -> Iterator[SafeArchive]:
    """Check an archive's directory against the limits and keep the wanted members (by base name)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ArchiveRefused(f"The file is not a readable zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ArchiveRefused(f"The archive holds {len(infos)} members; at most {limits.max_members} are taken", too_large=True)
        safe = SafeArchive(archive, limits, {})
        declared_total = 0
        for info in infos:
            _refuse_unsafe_name(info)
            name = PurePosixPath(info.filename).name
            if info.is_dir() or name not in wanted:
                safe.ignored.append(info.filename)
                continue
            if name in safe.members:
                raise ArchiveRefused(f"The archive holds {name} twice", member=info.filename)
            _refuse_declared_size(info, limits)
            declared_total += info.file_size
            safe.members[name] = info
        if declared_total > limits.max_total_bytes:
            raise ArchiveRefused(f"The archive would unpack to {declared_total} bytes; at most {limits.max_total_bytes} are taken", too_large=True)
        yield safe


def _refuse_unsafe_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = PurePosixPath(name).parts
    if name.startswith("/") or "\\" in name or ".." in parts or (parts and parts[0].endswith(":")):
        raise ArchiveRefused(f"The member path {name!r} leaves the archive", member=name)
    if info.flag_bits & 0x1:
        raise ArchiveRefused(f"The member {name!r} is encrypted", member=name)


def _refuse_declared_size(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise ArchiveRefused(
            f"{info.filename} would unpack to {info.file_size} bytes; at most {limits.max_member_bytes} are taken", member=info.filename, too_large=True
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= limits.ratio_applies_from_bytes and ratio > limits.max_ratio:
        raise ArchiveRefused(
            f"{info.filename} is compressed {ratio:.0f} to 1 (at most {limits.max_ratio} to 1 is taken): a zip bomb is refused",
            member=info.filename,
            too_large=True,
        )


class _CappedReader(io.RawIOBase):
    """Counts inflated bytes against the member's declared size and the archive's limits."""

    def __init__(self, raw: zipfile.ZipExtFile, archive: SafeArchive, info: zipfile.ZipInfo) -> None:
        self.raw, self.archive, self.info, self.read_bytes = raw, archive, info, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            chunk = self.raw.read(len(buffer))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveRefused(f"{self.info.filename} is corrupt: {exc}", member=self.info.filename) from None
        self.read_bytes += len(chunk)
        self.archive.inflated += len(chunk)
        limits = self.archive.limits
        if self.read_bytes > min(self.info.file_size, limits.max_member_bytes) or self.archive.inflated > limits.max_total_bytes:
            raise ArchiveRefused(f"{self.info.filename} unpacks past its declared size or the archive's limits", member=self.info.filename, too_large=True)
        buffer[: len(chunk)] = chunk
        return len(chunk)
