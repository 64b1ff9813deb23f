"""The backup archive against hostile input: every alteration refused before anything is unpacked, and a
hostile tar (sealed with the right passphrase, as only its holder could) stopped at the target folder.

Archives are real files written by the real writer; the hostile ones are sealed with the real SealedWriter
around a tar built here by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sqlite3
import struct
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from hearth.backup.archive import (
    MANIFEST,
    MAX_MEMBER,
    Manifest,
    bytes_member,
    extract,
    verify,
    write_archive,
)
from hearth.backup.layout import DataLayout
from hearth.backup.restore import RTS_CODE_MARGIN, advance_rolling_codes
from hearth.backup.schedule import archive_name, list_archives, prune, remove_leftovers
from hearth.backup.sealed import (
    CHUNK_SIZE,
    MAGIC,
    ArchiveTampered,
    BackupError,
    SealedWriter,
    WrongPassphrase,
)
from hearth.store.database import migrations

PASS = b"correct horse battery"
GW = "1234-5678-9012"


def manifest() -> Manifest:
    return Manifest(GW, 1_700_000_000_000, "test", 1)


def good_archive(path: Path, payload: dict[str, bytes], passphrase: bytes = PASS) -> None:
    members = [bytes_member(name, content) for name, content in payload.items()]
    with path.open("wb") as out:
        write_archive(out, passphrase, manifest(), members)


def big_payload() -> dict[str, bytes]:
    """Incompressible content over two chunks, so that chunks can be swapped, dropped and cut."""
    return {
        "data/hearth.db": os.urandom(CHUNK_SIZE * 2 + 12345),
        "data/tls/key.pem": b"-----KEY-----\n",
        "config/hearth.toml": b'[gateway]\nname = "x"\n',
    }


def chunk_offsets(blob: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each sealed chunk, length prefix included."""
    (header_len,) = struct.unpack(">I", blob[len(MAGIC) : len(MAGIC) + 4])
    offset = len(MAGIC) + 4 + header_len
    found = []
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        found.append((offset, 4 + length))
        offset += 4 + length
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("sample")
    payload = big_payload()
    good_archive(folder / "good.hbk", payload)
    return folder / "good.hbk", payload


def test_round_trip(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    path, payload = sample
    opened = verify(path, PASS)
    assert opened.header.gateway_id == GW
    got = extract(opened, tmp_path / "out")
    assert got.gateway_id == GW and {f["path"] for f in got.files} == set(payload)
    for name, content in payload.items():
        written = tmp_path / "out" / name
        assert written.read_bytes() == content
        assert written.stat().st_mode & 0o077 == 0  # owner-only: the archive holds secrets


def test_the_payload_is_encrypted(sample: tuple[Path, dict[str, bytes]]) -> None:
    path, payload = sample
    blob = path.read_bytes()
    assert b"-----KEY-----" not in blob and b"hearth.toml" not in blob and b"manifest" not in blob


def test_wrong_passphrase(sample: tuple[Path, dict[str, bytes]]) -> None:
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        verify(sample[0], b"not the passphrase")


def _refused(tmp_path: Path, blob: bytes) -> BackupError:
    bad = tmp_path / "bad.hbk"
    bad.write_bytes(blob)
    with pytest.raises(BackupError) as caught:
        verify(bad, PASS)
    return caught.value


def test_every_flipped_byte_is_refused(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    blob = sample[0].read_bytes()
    chunks = chunk_offsets(blob)
    assert len(chunks) == 3
    header_end = chunks[0][0]
    positions = {0, len(MAGIC), len(MAGIC) + 3, len(MAGIC) + 20, header_end - 30, header_end - 2, len(blob) - 1}
    for offset, length in chunks:
        positions |= {offset, offset + 3, offset + 4, offset + length // 2, offset + length - 1}
    for position in sorted(positions):
        altered = bytearray(blob)
        altered[position] ^= 0x40
        error = _refused(tmp_path, bytes(altered))
        assert (
            "nothing was restored" in str(error)
            or "not a Hearth backup" in str(error)
            or "passphrase" in str(error)
            or "truncated" in str(error)
        ), (position, error)


def test_a_flipped_payload_byte_says_altered(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    blob = bytearray(sample[0].read_bytes())
    offset, length = chunk_offsets(bytes(blob))[1]
    blob[offset + length // 2] ^= 1
    error = _refused(tmp_path, bytes(blob))
    assert isinstance(error, ArchiveTampered)
    assert "altered or damaged" in str(error)


def test_truncations_are_refused(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    blob = sample[0].read_bytes()
    chunks = chunk_offsets(blob)
    for cut in (
        0,
        5,
        len(MAGIC) + 2,
        chunks[0][0] - 1,
        chunks[0][0],
        chunks[1][0],
        chunks[2][0],
        chunks[2][0] + 10,
        len(blob) - 1,
    ):
        error = _refused(tmp_path, blob[:cut])
        assert "truncated" in str(error) or "not a Hearth backup" in str(error), (cut, error)
    # Cut exactly at a chunk boundary: every chunk left is authentic, but the sealed last one is missing.
    assert "truncated" in str(_refused(tmp_path, blob[: chunks[2][0]]))


def test_reordered_dropped_and_foreign_chunks_are_refused(
    sample: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    blob = sample[0].read_bytes()
    (a, la), (b, lb), (c, lc) = chunk_offsets(blob)
    head, one, two, three = blob[:a], blob[a : a + la], blob[b : b + lb], blob[c : c + lc]
    assert isinstance(_refused(tmp_path, head + two + one + three), ArchiveTampered)
    assert isinstance(_refused(tmp_path, head + one + three), ArchiveTampered)
    assert isinstance(_refused(tmp_path, head + one + two + three + three), ArchiveTampered)
    # The same content sealed again (same passphrase, new salt): its chunks do not fit this header.
    other = tmp_path / "other.hbk"
    good_archive(other, sample[1])
    other_blob = other.read_bytes()
    (oa, ola), _, _ = chunk_offsets(other_blob)
    assert isinstance(_refused(tmp_path, head + other_blob[oa : oa + ola] + two + three), ArchiveTampered)
    # ... nor does its header fit these chunks.
    assert isinstance(_refused(tmp_path, other_blob[:oa] + one + two + three), ArchiveTampered)


def test_bytes_after_the_end_are_refused(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    error = _refused(tmp_path, sample[0].read_bytes() + b"\x00")
    assert isinstance(error, ArchiveTampered) and "after its end" in str(error)


def _with_header(fields: dict[str, Any]) -> bytes:
    body = json.dumps(fields).encode()
    return MAGIC + struct.pack(">I", len(body)) + body


def test_hostile_headers_are_refused_quickly(sample: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    blob = sample[0].read_bytes()
    (header_len,) = struct.unpack(">I", blob[len(MAGIC) : len(MAGIC) + 4])
    fields = json.loads(blob[len(MAGIC) + 4 : len(MAGIC) + 4 + header_len])
    assert "not a Hearth backup" in str(_refused(tmp_path, b""))
    assert "not a Hearth backup" in str(_refused(tmp_path, b"PK\x03\x04" + os.urandom(100)))
    assert "bad header length" in str(_refused(tmp_path, MAGIC + b"\xff\xff\xff\xff" + b"{}"))
    assert "not JSON" in str(_refused(tmp_path, MAGIC + struct.pack(">I", 5) + b"{nope"))
    assert "format" in str(_refused(tmp_path, _with_header({**fields, "format": 99})))
    started = time.monotonic()
    for n in (1 << 30, 1 << 20, 1000, -1, "big"):  # a hostile header must not make scrypt take gigabytes
        hostile = {**fields, "kdf": {**fields["kdf"], "n": n}}
        assert "out of range" in str(_refused(tmp_path, _with_header(hostile)))
    assert "out of range" in str(_refused(tmp_path, _with_header({**fields, "kdf": {**fields["kdf"], "p": 64}})))
    assert time.monotonic() - started < 5
    assert "salt" in str(_refused(tmp_path, _with_header({**fields, "kdf": {**fields["kdf"], "salt": "@@"}})))


# ----------------------------------------------------------------------------- a hostile tar, sealed


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


def sealed_tar(
    path: Path,
    members: list[tuple[tarfile.TarInfo, bytes]],
    listed: list[dict[str, Any]] | None,
    *,
    manifest_first: bool = True,
) -> None:
    """Seal a hand-made tar: ``listed`` is the manifest's file list (None: no manifest at all)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = list(members)
        if listed is not None:
            doc = json.dumps(
                {"gatewayId": GW, "createdAt": 1, "hearthVersion": "x", "schemaVersion": 1, "files": listed}
            ).encode()
            entry = (_info(MANIFEST, len(doc)), doc)
            entries = [entry, *entries] if manifest_first else [*entries, entry]
        for info, content in entries:
            tar.addfile(info, io.BytesIO(content) if info.isreg() else None)
    with path.open("wb") as out:
        sealed = SealedWriter(out, PASS, {"gatewayId": GW, "createdAt": 1, "hearthVersion": "x"})
        sealed.write(gzip.compress(raw.getvalue()))
        sealed.close()


def entry(name: str, content: bytes) -> dict[str, Any]:
    return {"path": name, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


EVIL = b"owned"
HOSTILE: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes]], list[dict[str, Any]] | None, str]] = {
    "parent path": ([(_info("data/../../evil", 5), EVIL)], [entry("data/../../evil", EVIL)], "bad path"),
    "absolute path": ([(_info("/tmp/evil", 5), EVIL)], [entry("/tmp/evil", EVIL)], "bad path"),
    "outside the roots": ([(_info("evil", 5), EVIL)], [entry("evil", EVIL)], "bad path"),
    "backslash": ([(_info("data\\..\\evil", 5), EVIL)], [entry("data\\..\\evil", EVIL)], "bad path"),
    "symlink": (
        [(_info("data/link", kind=tarfile.SYMTYPE, link="/etc/passwd"), b"")],
        [{"path": "data/link", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}],
        "not a plain file",
    ),
    "hard link": (
        [(_info("data/link", kind=tarfile.LNKTYPE, link="/etc/passwd"), b"")],
        [{"path": "data/link", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}],
        "not a plain file",
    ),
    "device": (
        [(_info("data/dev", kind=tarfile.CHRTYPE), b"")],
        [{"path": "data/dev", "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}],
        "not a plain file",
    ),
    "unlisted member": ([(_info("data/a", 5), EVIL)], [], "does not list"),
    "member listed twice": ([(_info("data/a", 5), EVIL)], [entry("data/a", EVIL), entry("data/a", EVIL)], "twice"),
    "member twice in the tar": (
        [(_info("data/a", 5), EVIL), (_info("data/a", 5), EVIL)],
        [entry("data/a", EVIL)],
        "does not list",
    ),
    "wrong size": ([(_info("data/a", 5), EVIL)], [{**entry("data/a", EVIL), "size": 4}], "size"),
    "wrong hash": ([(_info("data/a", 5), EVIL)], [entry("data/a", b"other")], "SHA-256"),
    "oversize": ([], [{"path": "data/a", "size": MAX_MEMBER + 1, "sha256": "0" * 64}], "manifest is not valid"),
    "missing member": ([], [entry("data/a", EVIL)], "lacks"),
    "no manifest": ([(_info("data/a", 5), EVIL)], None, "no manifest"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tar_is_stopped(case: str, tmp_path: Path) -> None:
    members, listed, reason = HOSTILE[case]
    archive = tmp_path / "hostile.hbk"
    sealed_tar(archive, members, listed)
    target = tmp_path / "deep" / "target"
    target.parent.mkdir()
    with pytest.raises(BackupError, match=reason):
        extract(verify(archive, PASS), target)
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


def test_manifest_must_come_first(tmp_path: Path) -> None:
    archive = tmp_path / "late.hbk"
    sealed_tar(archive, [(_info("data/a", 5), EVIL)], [entry("data/a", EVIL)], manifest_first=False)
    with pytest.raises(BackupError, match="no manifest"):
        extract(verify(archive, PASS), tmp_path / "target")
    assert not (tmp_path / "target" / "data" / "a").exists()


def test_damaged_compression_inside_a_sealed_archive(tmp_path: Path) -> None:
    archive = tmp_path / "garbage.hbk"
    with archive.open("wb") as out:
        sealed = SealedWriter(out, PASS, {"gatewayId": GW})
        sealed.write(b"\x1f\x8b\x08\x00" + os.urandom(500))
        sealed.close()
    with pytest.raises(BackupError, match="damaged"):
        extract(verify(archive, PASS), tmp_path / "target")


# ----------------------------------------------------------------------------- restore fix-ups, naming


def test_rts_rolling_codes_move_ahead(tmp_path: Path) -> None:
    db = tmp_path / "hearth.db"
    conn = sqlite3.connect(db)
    for _, _, sql in migrations():
        conn.executescript(sql)
    rows = [
        ("rts", "remote.0a1001", {"key": 0xA3, "code": 42}),
        ("rts", "remote.0a1002", {"key": 0xA1, "code": 65500}),
        ("rts", "remotes.base", 659456),
        ("zigbee", "remote.0a1001", {"key": 1, "code": 7}),
    ]
    conn.executemany(
        "INSERT INTO driver_data (driver, key, value) VALUES (?, ?, ?)", [(d, k, json.dumps(v)) for d, k, v in rows]
    )
    conn.commit()
    conn.close()
    assert advance_rolling_codes(db) == 2
    conn = sqlite3.connect(db)
    got = {(d, k): json.loads(v) for d, k, v in conn.execute("SELECT driver, key, value FROM driver_data")}
    conn.close()
    assert got[("rts", "remote.0a1001")] == {"key": 0xA3, "code": 42 + RTS_CODE_MARGIN}
    assert got[("rts", "remote.0a1002")]["code"] == (65500 + RTS_CODE_MARGIN) & 0xFFFF
    assert got[("rts", "remotes.base")] == 659456
    assert got[("zigbee", "remote.0a1001")]["code"] == 7


def test_names_listing_pruning_and_leftovers(tmp_path: Path) -> None:
    import datetime

    folder = tmp_path / "backups"
    folder.mkdir()
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for day in range(5):
        (folder / archive_name(GW, base + datetime.timedelta(days=day))).write_bytes(b"x" * day)
    (folder / "notes.txt").write_text("mine")
    (folder / ".hearth-backup-x.hbk.partial").write_bytes(b"half")
    (folder / ".snapshots-abc").mkdir()
    listed = list_archives(folder)
    assert [a.created_ms for a in listed] == sorted((a.created_ms for a in listed), reverse=True)
    assert listed[0].path.name == f"hearth-backup-{GW}-20260105T000000Z.hbk" and listed[0].size == 4
    removed = prune(folder, 2)
    assert len(removed) == 3 and [a.path.name for a in list_archives(folder)] == [a.path.name for a in listed[:2]]
    remove_leftovers(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*(a.path.name for a in listed[:2]), "notes.txt"])


def test_layout_keeps_backups_lock_and_passphrase(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path, tmp_path / "backups", tmp_path / "backup-passphrase")
    for name in ("backups", "backup-passphrase", "hearth.lock", "restore-staged", ".restore-incoming-1"):
        assert layout.kept(tmp_path / name) and not layout.backed_up(tmp_path / name)
    for name in ("hearth.db", "tls", "drivers"):
        assert not layout.kept(tmp_path / name) and layout.backed_up(tmp_path / name)
    assert not layout.backed_up(tmp_path / "backup-config.toml")


# ----------------------------------------------------------------------------- staging and applying


def _gateway_folder(folder: Path, gateway_id: str, label: str) -> None:
    """A data folder as a stopped gateway leaves it: its database (by the real migrations), a TLS key, a driver's
    file."""
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / "hearth.db")
    for version, _, sql in migrations():
        conn.executescript(sql)
        conn.execute(f"PRAGMA user_version={version}")
    conn.execute(
        "INSERT INTO gateway_settings (key, value) VALUES ('gateway_id', ?), ('label', ?)", (gateway_id, label)
    )
    conn.commit()
    conn.close()
    (folder / "tls").mkdir()
    (folder / "tls" / "key.pem").write_text(f"key of {label}")
    (folder / "drivers" / "zwave" / "cache").mkdir(parents=True)
    (folder / "drivers" / "zwave" / "cache" / "nodes.jsonl").write_text(f"nodes of {label}")


def _label(folder: Path) -> str:
    conn = sqlite3.connect(folder / "hearth.db")
    try:
        return str(conn.execute("SELECT value FROM gateway_settings WHERE key = 'label'").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def staged_layout(tmp_path: Path) -> DataLayout:
    """A data folder holding gateway "current", with an archive of gateway "archived" staged over it."""
    from hearth.backup.builder import save_archive
    from hearth.backup.restore import stage
    from hearth.config import load_settings

    _gateway_folder(tmp_path / "old", "1111-2222-3333", "archived")
    settings = load_settings(None, {"HEARTH_STORE__DATA_DIR": str(tmp_path / "old")})
    save_archive(settings, tmp_path / "a.hbk", PASS)
    _gateway_folder(tmp_path / "data", "4444-5555-6666", "current")
    layout = DataLayout(tmp_path / "data", tmp_path / "data" / "backups", tmp_path / "data" / "backup-passphrase")
    layout.backup_dir.mkdir()
    (layout.backup_dir / "kept.hbk").write_bytes(b"x")
    info = stage(layout, tmp_path / "a.hbk", PASS)
    assert info.gateway_id == "1111-2222-3333"
    assert _label(layout.data_dir) == "current"  # staged, not applied
    (layout.data_dir / "hearth.db-wal").write_bytes(b"an old WAL")  # as a gateway stopped by a power cut leaves
    return layout


def _assert_restored(layout: DataLayout) -> None:
    data = layout.data_dir
    assert _label(data) == "archived"
    assert (data / "tls" / "key.pem").read_text() == "key of archived"
    assert (data / "drivers" / "zwave" / "cache" / "nodes.jsonl").read_text() == "nodes of archived"
    assert not (data / "hearth.db-wal").exists()  # never an old WAL beside a restored database
    assert (layout.backup_dir / "kept.hbk").exists()
    assert sorted(p.name for p in data.iterdir()) == ["backups", "drivers", "hearth.db", "tls"]


def test_a_staged_restore_is_applied_once(staged_layout: DataLayout) -> None:
    from hearth.backup.restore import apply_staged

    info = apply_staged(staged_layout)
    assert info is not None and info.gateway_id == "1111-2222-3333"
    _assert_restored(staged_layout)
    assert apply_staged(staged_layout) is None
    _assert_restored(staged_layout)


def test_a_restore_cut_short_while_setting_aside_is_finished(staged_layout: DataLayout) -> None:
    """What a power cut leaves in the first phase: some current files set aside, the others still in place."""
    from hearth.backup.restore import apply_staged

    aside = staged_layout.aside_dir
    aside.mkdir()
    (staged_layout.data_dir / "hearth.db").rename(aside / "hearth.db")
    assert apply_staged(staged_layout) is not None
    _assert_restored(staged_layout)


def test_a_restore_cut_short_while_swapping_in_is_finished(staged_layout: DataLayout) -> None:
    """What a power cut leaves in the second phase: everything set aside, part of the archive moved in."""
    from hearth.backup.restore import STATE, apply_staged

    data, aside, staged_data = staged_layout.data_dir, staged_layout.aside_dir, staged_layout.staged_dir / "data"
    aside.mkdir()
    for name in ("hearth.db", "hearth.db-wal", "tls", "drivers"):
        (data / name).rename(aside / name)
    state = json.loads((staged_layout.staged_dir / STATE).read_text())
    (staged_layout.staged_dir / STATE).write_text(json.dumps({**state, "phase": "swapping"}))
    (staged_data / "hearth.db").rename(data / "hearth.db")
    assert apply_staged(staged_layout) is not None
    _assert_restored(staged_layout)


def test_a_bad_archive_leaves_a_staged_restore_as_it_was(staged_layout: DataLayout, tmp_path: Path) -> None:
    from hearth.backup.restore import stage, staged

    bad = tmp_path / "bad.hbk"
    blob = bytearray((tmp_path / "a.hbk").read_bytes())
    blob[-3] ^= 0xFF
    bad.write_bytes(bytes(blob))
    before = sorted(p.relative_to(staged_layout.data_dir) for p in staged_layout.data_dir.rglob("*"))
    with pytest.raises(ArchiveTampered):
        stage(staged_layout, bad, PASS)
    assert sorted(p.relative_to(staged_layout.data_dir) for p in staged_layout.data_dir.rglob("*")) == before
    info = staged(staged_layout)
    assert info is not None and info.gateway_id == "1111-2222-3333"
