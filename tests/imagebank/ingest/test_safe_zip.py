"""A corpus of hostile archives: each is refused with the member named, and leaves nothing."""

import io
import stat
import zipfile
from pathlib import Path

import pytest

from imagebank.ingest.safe_zip import UnsafeArchive, ZipLimits, extract, is_zip

LIMITS = ZipLimits(
    max_members=50, max_total_bytes=50 * 2**20, max_member_bytes=40 * 2**20, max_ratio=100
)


def build(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], **kwargs) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def refused(tmp_path: Path, archive: Path, fragment: str) -> None:
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match=fragment):
        extract(archive, dest, limits=LIMITS)
    assert list(dest.iterdir()) == []
    # Nothing escaped beside the destination either.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archive.name, "out"])


def test_a_plain_archive_is_extracted(tmp_path):
    archive = build(
        tmp_path / "ok.zip",
        [("case/a.jpg", b"a"), ("case/b.jpg", b"b"), ("__MACOSX/._a.jpg", b"junk")],
    )
    files = extract(archive, tmp_path / "out", limits=LIMITS)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in files) == [
        "case/a.jpg",
        "case/b.jpg",
    ]
    assert is_zip(archive)


@pytest.mark.parametrize(
    "name",
    ["../evil.jpg", "case/../../evil.jpg", "/etc/evil", "C:/evil", "..\\evil.jpg"],
)
def test_paths_leaving_the_archive_are_refused(tmp_path, name):
    refused(tmp_path, build(tmp_path / "slip.zip", [(name, b"x")]), "outside the archive")


def test_a_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link.jpg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    refused(tmp_path, build(tmp_path / "link.zip", [(info, b"/etc/passwd")]), "link.jpg")


def test_a_compression_bomb_is_refused(tmp_path):
    refused(
        tmp_path, build(tmp_path / "bomb.zip", [("zeros.jpg", bytes(30 * 2**20))]), "archive bomb"
    )


def test_a_header_that_lies_about_sizes_cannot_bomb(tmp_path):
    archive = build(tmp_path / "liar.zip", [("zeros.jpg", bytes(30 * 2**20))])
    raw = bytearray(archive.read_bytes())
    # Claim 10 bytes uncompressed in the central directory: the count is on real bytes anyway.
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    with pytest.raises(UnsafeArchive):
        extract(archive, tmp_path / "out", limits=LIMITS)
    assert list((tmp_path / "out").iterdir()) == []


def test_too_many_members_are_refused(tmp_path):
    members = [(f"f{i}.jpg", b"x") for i in range(LIMITS.max_members + 1)]
    refused(tmp_path, build(tmp_path / "many.zip", members), "members")


def test_the_same_name_twice_is_refused(tmp_path):
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.jpg", b"1")
        handle.writestr("A.JPG", b"2")
    refused(tmp_path, archive, "twice")


def test_an_encrypted_member_is_refused(tmp_path):
    archive = build(tmp_path / "enc.zip", [("a.jpg", b"secret")])
    raw = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + offset] |= 0x1  # the "encrypted" flag
    archive.write_bytes(bytes(raw))
    refused(tmp_path, archive, "encrypted")


def test_not_a_zip_is_refused(tmp_path):
    archive = tmp_path / "fake.zip"
    archive.write_bytes(b"PK\x03\x04 but nothing else")
    refused(tmp_path, archive, "fake.zip")


def test_a_nested_archive_is_not_opened(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as handle:
        handle.writestr("../evil.jpg", b"x")
    files = extract(
        build(tmp_path / "outer.zip", [("inner.zip", inner.getvalue())]),
        tmp_path / "out",
        limits=LIMITS,
    )
    assert [p.name for p in files] == ["inner.zip"]
    assert not (tmp_path / "evil.jpg").exists()
