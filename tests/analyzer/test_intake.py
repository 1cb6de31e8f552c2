"""Bundle intake: directories, archives, compressed files, and hostile input refused safely."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.intake import Bundle, IntakeError, IntakeLimits, open_bundle

LOG = b"2025-05-31 10:01:49.123 [info] login start\n2025-05-31 10:01:50.001 [error] 60020\n"
HAR = json.dumps({"log": {"version": "1.2", "creator": {"name": "t"}, "entries": []}}).encode()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (2025, 5, 31, 10, 1, 48))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    # Small bzip2 blocks, so that a cut archive still has whole blocks to decompress.
    extra = {"compresslevel": 1} if mode == "w:bz2" else {}
    with tarfile.open(path, mode, **extra) as tf:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1748685709
            tf.addfile(info, io.BytesIO(data))
    return path


def _text(seed: int, size: int) -> bytes:
    """Incompressible printable text, so compressed offsets track member boundaries."""
    rng = random.Random(seed)
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789 \n", k=size)).encode()


def _displays(bundle: Bundle) -> list[str]:
    return [f.display for f in bundle.files]


def _refusals(bundle: Bundle) -> dict[str, str]:
    return {r.display: r.reason for r in bundle.refused}


def _file(bundle: Bundle, display: str) -> bytes:
    [found] = [f for f in bundle.files if f.display == display]
    return found.path.read_bytes()


def test_plain_directory_is_walked_and_not_copied(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "logs" / "deep").mkdir(parents=True)
    (root / "logs" / "deep" / "c.log").write_bytes(LOG)
    (root / "logs" / "a.txt").write_bytes(LOG)
    (root / "session.dat").write_bytes(HAR)
    (root / "empty").write_bytes(b"")
    with open_bundle([root]) as bundle:
        assert _displays(bundle) == [
            f"{root}/empty",
            f"{root}/logs/a.txt",
            f"{root}/logs/deep/c.log",
            f"{root}/session.dat",
        ]
        assert [f.kind for f in bundle.files] == ["empty", "log", "log", "har"]
        assert all(str(f.path) == f.display for f in bundle.files)  # read in place
        assert bundle.files[2].size == len(LOG) and bundle.files[2].mtime is not None
        assert bundle.temp_dir is None and bundle.refused == []
        assert bundle.metadata == {} and bundle.metadata_source is None


def test_several_paths_at_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "one.log").write_bytes(LOG)
    (tmp_path / "two.log").write_bytes(LOG)
    _zip(tmp_path / "three.zip", {"three.log": LOG})
    inputs: list[str | Path] = [str(tmp_path / "d"), tmp_path / "two.log", tmp_path / "three.zip"]
    with open_bundle(inputs) as bundle:
        assert bundle.inputs == [str(p) for p in inputs]
        assert _displays(bundle) == [
            f"{tmp_path}/d/one.log",
            f"{tmp_path}/three.zip!three.log",
            f"{tmp_path}/two.log",
        ]


def test_zip_members_are_extracted_with_dates(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {"logs/app.log": LOG, "logs/": b"", "net.har": HAR})
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!logs/app.log", f"{archive}!net.har"]
        assert [f.kind for f in bundle.files] == ["log", "har"]
        assert _file(bundle, f"{archive}!logs/app.log") == LOG
        found = bundle.files[0]
        assert bundle.temp_dir is not None and found.path.parent == bundle.temp_dir
        assert found.path.name.endswith("app.log") and found.size == len(LOG)
        assert found.mtime is not None and time.localtime(found.mtime).tm_year == 2025


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz", "zst"])
def test_tar_and_compressed_tars(tmp_path: Path, mode: str) -> None:
    members = {"a/app.log": LOG, "b/c.log": LOG * 2}
    if mode == "zst":
        plain = _tar(tmp_path / "plain.tar", members).read_bytes()
        archive = tmp_path / "b.tar.zst"
        archive.write_bytes(zstandard.ZstdCompressor().compress(plain))
    else:
        archive = _tar(tmp_path / "b.tar.x", members, mode)
    with open_bundle([archive]) as bundle:
        assert bundle.refused == []
        assert _displays(bundle) == [f"{archive}!a/app.log", f"{archive}!b/c.log"]
        assert _file(bundle, f"{archive}!b/c.log") == LOG * 2
        assert bundle.files[0].mtime == 1748685709


@pytest.mark.parametrize(
    "compress",
    [gzip.compress, bz2.compress, lzma.compress, zstandard.ZstdCompressor().compress],
)
def test_compressed_single_file(tmp_path: Path, compress: object) -> None:
    path = tmp_path / "app.log.gz"
    path.write_bytes(compress(LOG * 100))  # type: ignore[operator]
    with open_bundle([path]) as bundle:
        assert _displays(bundle) == [f"{path}!"]
        assert bundle.files[0].kind == "log" and _file(bundle, f"{path}!") == LOG * 100
        assert bundle.files[0].path.name.endswith("app.log")


def test_multi_frame_zst(tmp_path: Path) -> None:
    path = tmp_path / "app.zst"
    one = zstandard.ZstdCompressor().compress(LOG)
    path.write_bytes(one + one + one)
    with open_bundle([path]) as bundle:
        assert _file(bundle, f"{path}!") == LOG * 3


def test_gz_inside_zip_is_opened(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {"logs/app.log.gz": gzip.compress(LOG)})
    with open_bundle([archive]) as bundle:
        assert bundle.refused == []
        assert _displays(bundle) == [f"{archive}!logs/app.log.gz!"]
        assert _file(bundle, f"{archive}!logs/app.log.gz!") == LOG
        # The intermediate .gz is not kept once opened.
        assert bundle.temp_dir is not None and len(list(bundle.temp_dir.iterdir())) == 1


def test_tar_gz_inside_zip_is_one_level(tmp_path: Path) -> None:
    inner = _tar(tmp_path / "inner.tgz", {"x.log": LOG}, "w:gz").read_bytes()
    archive = _zip(tmp_path / "b.zip", {"inner.tgz": inner})
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!inner.tgz!x.log"]


def test_zip_in_zip_in_zip_refuses_the_innermost(tmp_path: Path) -> None:
    innermost = _zip_bytes({"deep.log": LOG})
    middle = _zip_bytes({"inner.zip": innermost, "middle.log": LOG})
    archive = _zip(tmp_path / "outer.zip", {"middle.zip": middle, "outer.log": LOG})
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!middle.zip!middle.log", f"{archive}!outer.log"]
        assert _refusals(bundle) == {
            f"{archive}!middle.zip!inner.zip": "nested archive deeper than 1 level"
        }


def test_gz_inside_zip_inside_zip_is_too_deep(tmp_path: Path) -> None:
    middle = _zip_bytes({"app.log.gz": gzip.compress(LOG)})
    archive = _zip(tmp_path / "outer.zip", {"middle.zip": middle})
    with open_bundle([archive]) as bundle:
        assert bundle.files == []
        assert list(_refusals(bundle)) == [f"{archive}!middle.zip!app.log.gz"]


def test_path_traversal_member_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    archive = _zip(work / "b.zip", {"../../evil.log": LOG, "ok.log": LOG, "a\\..\\..\\x.log": LOG})
    tar = _tar(work / "b.tar", {"../../evil.log": LOG, "ok.log": LOG})
    with open_bundle([archive, tar]) as bundle:
        assert _displays(bundle) == [f"{tar}!ok.log", f"{archive}!ok.log"]
        reasons = _refusals(bundle)
        assert reasons[f"{archive}!../../evil.log"] == "path escapes the bundle (../../evil.log)"
        assert reasons[f"{tar}!../../evil.log"].startswith("path escapes the bundle")
        assert f"{archive}!a\\..\\..\\x.log" in reasons
        assert bundle.temp_dir is not None
        extracted = sorted(p.name for p in bundle.temp_dir.iterdir())
        assert extracted == ["000001-ok.log", "000002-ok.log"]
    assert not (tmp_path / "evil.log").exists() and not (work / "evil.log").exists()
    assert sorted(p.name for p in work.iterdir()) == ["b.tar", "b.zip"]


def test_absolute_member_paths_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {"/etc/x": LOG, "C:/Windows/x.log": LOG, "ok.log": LOG})
    tar = _tar(tmp_path / "b.tar", {"/etc/x": LOG})
    with open_bundle([archive, tar]) as bundle:
        assert _displays(bundle) == [f"{archive}!ok.log"]
        assert _refusals(bundle) == {
            f"{archive}!/etc/x": "absolute path in archive (/etc/x)",
            f"{archive}!C:/Windows/x.log": "absolute path in archive (C:/Windows/x.log)",
            f"{tar}!/etc/x": "absolute path in archive (/etc/x)",
        }


def test_link_and_device_members_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo("link.log")
        link.create_system, link.external_attr = 3, (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("ok.log", LOG)
    tar = tmp_path / "b.tar"
    with tarfile.open(tar, "w") as tf:
        for name, kind in (("sym.log", tarfile.SYMTYPE), ("hard.log", tarfile.LNKTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, "/etc/passwd"
            tf.addfile(info)
        dev = tarfile.TarInfo("null")
        dev.type = tarfile.CHRTYPE
        tf.addfile(dev)
    with open_bundle([archive, tar]) as bundle:
        assert _displays(bundle) == [f"{archive}!ok.log"]
        assert _refusals(bundle) == {
            f"{archive}!link.log": "symlink in archive",
            f"{tar}!sym.log": "symlink in archive (-> /etc/passwd)",
            f"{tar}!hard.log": "hard link in archive (-> /etc/passwd)",
            f"{tar}!null": "device file in archive",
        }


def test_directory_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "real").mkdir(parents=True)
    (root / "real" / "app.log").write_bytes(LOG)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "secret.log").write_bytes(LOG)
    (root / "inside").symlink_to(root / "real", target_is_directory=True)
    (root / "again.log").symlink_to(root / "real" / "app.log")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "outside").symlink_to(secret, target_is_directory=True)
    (root / "out.log").symlink_to(secret / "secret.log")
    (root / "broken.log").symlink_to(root / "missing.log")
    with open_bundle([root]) as bundle:
        assert _displays(bundle) == [f"{root}/real/app.log"]  # the real path, once
        assert _refusals(bundle) == {
            f"{root}/broken.log": "broken symlink",
            f"{root}/out.log": f"symlink leaves the bundle (-> {secret}/secret.log)",
            f"{root}/outside": f"symlink leaves the bundle (-> {secret})",
        }


def test_symlinked_directory_inside_is_followed(tmp_path: Path) -> None:
    # The only route to "store" is through the link: its file is taken exactly once.
    root = tmp_path / "bundle"
    (root / "store").mkdir(parents=True)
    (root / "store" / "app.log").write_bytes(LOG)
    (root / "store").chmod(0o755)
    given = tmp_path / "given"
    given.symlink_to(root, target_is_directory=True)
    with open_bundle([given, root]) as bundle:
        assert _displays(bundle) == [f"{given}/store/app.log"]


def test_fifo_is_refused_not_read(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    os.mkfifo(root / "pipe")
    (root / "app.log").write_bytes(LOG)
    with open_bundle([root]) as bundle:
        assert _displays(bundle) == [f"{root}/app.log"]
        assert _refusals(bundle) == {f"{root}/pipe": "not a regular file (FIFO)"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.log").write_bytes(LOG)
    (tmp_path / "secret.log").chmod(0)
    (tmp_path / "ok.log").write_bytes(LOG)
    with open_bundle([tmp_path]) as bundle:
        assert _refusals(bundle) == {f"{tmp_path}/secret.log": "unreadable: permission denied"}


ZEROS = b"\x00" * (20 * 2**20)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"zeros.log": ZEROS, "ok.log": LOG})
    with open_bundle([archive], IntakeLimits(max_ratio=50)) as bundle:
        assert _displays(bundle) == [f"{archive}!ok.log"]
        reason = _refusals(bundle)[f"{archive}!zeros.log"]
        assert reason.startswith("zip bomb: ratio ") and reason.endswith(" exceeds 50:1")
        assert bundle.temp_dir is not None and len(list(bundle.temp_dir.iterdir())) == 1


def test_gzip_and_tar_gz_bombs_are_refused(tmp_path: Path) -> None:
    single = tmp_path / "zeros.gz"
    single.write_bytes(gzip.compress(ZEROS, compresslevel=1))
    tgz = _tar(tmp_path / "bomb.tgz", {"ok.log": LOG, "zeros.log": ZEROS, "after.log": LOG}, "w:gz")
    with open_bundle([single, tgz], IntakeLimits(max_ratio=50)) as bundle:
        assert _displays(bundle) == [f"{tgz}!ok.log"]
        reasons = _refusals(bundle)
        assert reasons[f"{single}!"].startswith("zip bomb: ratio ")
        assert reasons[f"{tgz}"].startswith("zip bomb: ratio ")
        assert reasons[f"{tgz}"].endswith("rest of the archive skipped")


def test_member_over_the_file_limit(tmp_path: Path) -> None:
    big = _text(1, 5000)
    archive = _zip(tmp_path / "b.zip", {"big.log": big, "small.log": LOG})
    tgz = _tar(tmp_path / "b.tgz", {"big.log": big, "small.log": LOG}, "w:gz")
    single = tmp_path / "big.log.gz"
    single.write_bytes(gzip.compress(big))
    with open_bundle([archive, tgz, single], IntakeLimits(max_file_bytes=1000)) as bundle:
        assert _displays(bundle) == [f"{tgz}!small.log", f"{archive}!small.log"]
        assert _refusals(bundle) == {
            f"{archive}!big.log": "file exceeds the 1000 bytes limit",
            f"{tgz}!big.log": "file exceeds the 1000 bytes limit",
            f"{single}!": "file exceeds the 1000 bytes limit",
        }


def test_total_limit(tmp_path: Path) -> None:
    members = {f"{i}.log": _text(i, 400) for i in range(5)}
    archive = _zip(tmp_path / "b.zip", members)
    with open_bundle([archive], IntakeLimits(max_total_bytes=1000)) as bundle:
        assert len(bundle.files) == 2
        assert len(bundle.refused) == 3
        assert all("limit for extracted data" in r.reason for r in bundle.refused)


def test_member_count_limit(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {f"{i}.log": LOG for i in range(5)})
    with open_bundle([archive], IntakeLimits(max_members=3)) as bundle:
        assert len(bundle.files) == 3
        assert _refusals(bundle) == {
            str(archive): "more than 3 archive members in the bundle; rest skipped"
        }


def test_truncated_zip_keeps_earlier_members(tmp_path: Path) -> None:
    members = {f"m{i}.log": _text(i, 20_000) for i in range(5)}
    data = _zip(tmp_path / "whole.zip", members).read_bytes()
    with zipfile.ZipFile(tmp_path / "whole.zip") as zf:
        cut = zf.getinfo("m3.log").header_offset + 1000  # inside the 4th member's data
    archive = tmp_path / "cut.zip"
    archive.write_bytes(data[:cut])
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!m{i}.log" for i in range(3)]
        assert _file(bundle, f"{archive}!m2.log") == members["m2.log"]
        assert _refusals(bundle) == {
            str(archive): "truncated archive: unexpected end of data after 3 members"
        }
        assert bundle.temp_dir is not None and len(list(bundle.temp_dir.iterdir())) == 3


def test_zip_with_corrupt_central_directory_is_recovered(tmp_path: Path) -> None:
    data = bytearray(_zip(tmp_path / "whole.zip", {"a.log": LOG, "b.log": LOG}).read_bytes())
    cd = data.rindex(b"PK\x01\x02")
    data[cd : cd + 4] = b"XXXX"
    archive = tmp_path / "bad.zip"
    archive.write_bytes(bytes(data))
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!a.log", f"{archive}!b.log"]
        assert _refusals(bundle)[str(archive)].startswith("corrupt archive")


def test_zip_member_with_bad_crc(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {"a.log": LOG, "b.log": LOG})
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("a.log")
        start = info.header_offset + 30 + len(info.filename)
    data[start + 5] ^= 0xFF
    archive.write_bytes(bytes(data))
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!b.log"]
        assert _refusals(bundle)[f"{archive}!a.log"].startswith("cannot read member: ")


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "zst"])
def test_truncated_compressed_tar_keeps_earlier_members(tmp_path: Path, mode: str) -> None:
    # Big enough for several zstd blocks and bzip2 blocks of 100 kB.
    members = {f"m{i}.log": _text(i, 150_000) for i in range(4)}
    if mode == "zst":
        plain = _tar(tmp_path / "plain.tar", members).read_bytes()
        data = zstandard.ZstdCompressor().compress(plain)
    else:
        data = _tar(tmp_path / "whole", members, mode).read_bytes()
    archive = tmp_path / "cut.tar.x"
    archive.write_bytes(data[: len(data) * 3 // 4])
    with open_bundle([archive]) as bundle:
        kept = _displays(bundle)
        assert 1 <= len(kept) <= 4
        assert kept == [f"{archive}!m{i}.log" for i in range(len(kept))]
        for display in kept[:-1]:
            assert _file(bundle, display) == members[display.rsplit("!", 1)[1]]
        # The member the archive broke inside is kept as far as it goes, and flagged.
        last = members[f"m{len(kept) - 1}.log"]
        assert last.startswith(_file(bundle, kept[-1]))
        if _file(bundle, kept[-1]) != last:
            assert [d.display for d in bundle.damaged] == [kept[-1]]
        assert _refusals(bundle) == {
            str(archive): f"truncated archive: unexpected end of data after {len(kept)} members"
        }
        assert bundle.temp_dir is not None and len(list(bundle.temp_dir.iterdir())) == len(kept)


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_truncated_single_compressed_file_keeps_what_decompressed(
    tmp_path: Path, compress: object
) -> None:
    text = b"".join(b"%08d " % i + _text(i, 60) + b"\n" for i in range(40_000))
    data = compress(text)  # type: ignore[operator]
    path = tmp_path / "app.log.gz"
    path.write_bytes(data[: len(data) // 2])
    with open_bundle([path]) as bundle:
        assert _displays(bundle) == [f"{path}!"]
        kept = _file(bundle, f"{path}!")
        assert 0 < len(kept) < len(text) and text.startswith(kept)
        assert _refusals(bundle) == {}
        (damage,) = bundle.damaged
        assert damage.display == f"{path}!"
        assert damage.reason.startswith("truncated archive: unexpected end of data; the ")


def test_garbage_behind_a_magic_is_refused_not_raised(tmp_path: Path) -> None:
    for name, magic in (("a", b"\x1f\x8b"), ("b", b"PK\x03\x04"), ("c", b"\x28\xb5\x2f\xfd")):
        (tmp_path / name).write_bytes(magic + random.Random(3).randbytes(3000))
    with open_bundle([tmp_path / "a", tmp_path / "b", tmp_path / "c"]) as bundle:
        assert bundle.files == []
        assert len(bundle.refused) == 3


def test_nothing_readable_raises(tmp_path: Path) -> None:
    with pytest.raises(IntakeError, match=r"nope\.zip"):
        open_bundle([tmp_path / "nope.zip", tmp_path / "gone"])
    with pytest.raises(IntakeError):
        open_bundle([])


def test_missing_path_beside_a_good_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_bytes(LOG)
    with open_bundle([tmp_path / "app.log", tmp_path / "gone.log"]) as bundle:
        assert _displays(bundle) == [f"{tmp_path}/app.log"]
        assert _refusals(bundle) == {f"{tmp_path}/gone.log": "does not exist"}


def test_temp_dir_removed_on_close(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "b.zip", {"app.log": LOG})
    bundle = open_bundle([archive])
    temp = bundle.temp_dir
    assert temp is not None and bundle.files[0].path.exists()
    bundle.close()
    assert not temp.exists()
    bundle.close()  # idempotent
    with open_bundle([archive]) as again:
        temp = again.temp_dir
        assert temp is not None and temp.exists()
    assert not temp.exists()


def test_bundle_json_metadata(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "sub").mkdir(parents=True)
    meta = {"user": "alice", "timezone": "Asia/Shanghai", "network": "wifi", "custom": [1, 2]}
    (root / "bundle.json").write_text(json.dumps(meta))
    (root / "sub" / "bundle.json").write_text(json.dumps({"user": "bob"}))
    with open_bundle([root]) as bundle:
        assert bundle.metadata == meta  # the shallowest one, unknown keys kept
        assert bundle.metadata_source == f"{root}/bundle.json"
        assert [f.kind for f in bundle.files] == ["bundle_meta", "bundle_meta"]
        assert bundle.metadata_errors == [
            f"{root}/sub/bundle.json: another bundle.json, ignored (using {root}/bundle.json)"
        ]


def test_bundle_json_inside_an_archive(tmp_path: Path) -> None:
    meta = {"client_version": "4.1.30", "network": "carrier-pigeon", "os": 11}
    archive = _zip(tmp_path / "b.zip", {"bundle.json": json.dumps(meta).encode(), "a.log": LOG})
    with open_bundle([archive]) as bundle:
        assert bundle.metadata == meta
        assert bundle.metadata_source == f"{archive}!bundle.json"
        assert bundle.metadata_errors == [
            f"{archive}!bundle.json: os is not a string",
            f"{archive}!bundle.json: network 'carrier-pigeon' is not one of wired, wifi, "
            "cellular, vpn",
        ]


def test_broken_bundle_json_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "x").mkdir(parents=True)
    (root / "bundle.json").write_text('{"user": "alice",')
    (root / "x" / "bundle.json").write_text("[1, 2]")
    (root / "app.log").write_bytes(LOG)
    with open_bundle([root]) as bundle:
        assert bundle.metadata == {} and bundle.metadata_source is None
        assert len(bundle.metadata_errors) == 2
        assert bundle.metadata_errors[0].startswith(f"{root}/bundle.json: not valid JSON")
        assert bundle.metadata_errors[1] == f"{root}/x/bundle.json: not a JSON object"
        assert len(bundle.files) == 3


def _plain_tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for i in range(3):
            data = _text(i, 3000)  # 512-byte header + 3072 bytes of data per member
            info = tarfile.TarInfo(f"m{i}.log")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("cut", [3584 + 100, 3584 + 600])  # in the 2nd header; in its data
def test_truncated_plain_tar(tmp_path: Path, cut: int) -> None:
    archive = tmp_path / "cut.tar"
    archive.write_bytes(_plain_tar_bytes()[:cut])
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!m0.log"]
        assert _refusals(bundle) == {
            str(archive): "truncated archive: unexpected end of data after 1 members"
        }


def test_garbled_tar_header_is_reported(tmp_path: Path) -> None:
    data = bytearray(_plain_tar_bytes())
    data[3584 : 3584 + 16] = b"X" * 16  # tarfile would otherwise stop here without a word
    archive = tmp_path / "bad.tar"
    archive.write_bytes(bytes(data))
    with open_bundle([archive]) as bundle:
        assert _displays(bundle) == [f"{archive}!m0.log"]
        assert _refusals(bundle) == {
            str(archive): "corrupt archive: invalid header after 1 members"
        }


def _fuzz_bases() -> dict[str, bytes]:
    members = {"a.log": LOG, "dir/b.har": HAR, "c.log.gz": gzip.compress(LOG)}
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    nested = _zip_bytes({"inner.zip": _zip_bytes(members), "x.log": LOG})
    return {
        "zip": _zip_bytes(members),
        "tgz": tar.getvalue(),
        "gz": gzip.compress(LOG * 50),
        "zst": zstandard.ZstdCompressor().compress(LOG * 50),
        "xz": lzma.compress(LOG * 50),
        "tar": _plain_tar_bytes(),
        "nested": nested,
    }


FUZZ_BASES = _fuzz_bases()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.sampled_from(sorted(FUZZ_BASES)),
    flips=st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), max_size=4),
    cut=st.none() | st.integers(0, 2**20),
)
def test_mutated_archives_never_raise(
    tmp_path: Path, base: str, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(FUZZ_BASES[base])
    for where, value in flips:
        data[where % len(data)] = value
    path = tmp_path / "input"
    path.write_bytes(bytes(data[: None if cut is None else cut % (len(data) + 1)]))
    with open_bundle([path], IntakeLimits(max_file_bytes=2**20)) as bundle:
        temp = bundle.temp_dir
        for found in bundle.files:
            assert found.path == path or (temp is not None and found.path.parent == temp)
            assert found.path.stat().st_size == found.size
        for refusal in bundle.refused:
            assert refusal.reason and "\n" not in refusal.reason
    assert temp is None or not temp.exists()


def test_control_characters_in_member_names_are_escaped(tmp_path: Path) -> None:
    archive = tmp_path / "esc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("logs/\x1b]0;PWNED\x07x.log", b"2025-05-31 10:00:00 INFO a\n")
        zf.writestr("../\x1b[2Jevil.log", b"x\n")
        zf.writestr("new\nline.log", b"x\n")
    with open_bundle([archive]) as bundle:
        shown = _displays(bundle) + [r.display + r.reason for r in bundle.refused]
        assert shown and not any(c in text for text in shown for c in "\x1b\x07\n")
        assert _displays(bundle) == [
            f"{archive}!logs/\\x1b]0;PWNED\\x07x.log",
            f"{archive}!new\\x0aline.log",
        ]
