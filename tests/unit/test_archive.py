"""Packing is deterministic and extraction rejects every unsafe archive."""

import gzip
import io
import os
import tarfile

import pytest

from pdtrain_core import archive, ignore


def make_tar(path, members, mode="w:gz"):
    """Write a tar whose members are TarInfo objects or (name, bytes)."""
    with tarfile.open(path, mode) as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
                continue
            name, data = member
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def device(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info


ATTACKS = {
    "absolute": ([("/etc/evil", b"x")], "/etc/evil", "absolute path"),
    "dotdot": ([("a/../../evil", b"x")], "a/../../evil", "outside"),
    "symlink": ([link("up", "../../etc/passwd")], "up", "outside"),
    "absolute symlink": ([link("abs", "/etc/passwd")], "abs", "outside"),
    "hardlink": (
        [link("hard", "../secret", tarfile.LNKTYPE)],
        "hard",
        "outside",
    ),
    "device": ([device("null")], "null", "device"),
}


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_extract_rejects_attack_and_writes_nothing(tmp_path, case):
    members, name, reason = ATTACKS[case]
    bad = make_tar(tmp_path / "bad.tar.gz", [("ok.txt", b"fine")] + members)
    destination = tmp_path / "out"

    with pytest.raises(archive.ArchiveError) as raised:
        archive.extract(bad, destination)

    assert repr(name) in str(raised.value)
    assert reason in str(raised.value)
    assert not destination.exists()


def test_extract_keeps_links_inside_the_folder(tmp_path):
    good = make_tar(
        tmp_path / "good.tar.gz",
        [("data/a.txt", b"A"), link("data/b.txt", "a.txt")],
    )

    names = archive.extract(good, tmp_path / "out")

    assert names == ["data/a.txt"]
    assert (tmp_path / "out" / "data" / "b.txt").read_bytes() == b"A"


def test_extract_rejects_too_many_members(tmp_path):
    many = make_tar(
        tmp_path / "many.tar.gz", [(f"f{i}", b"") for i in range(11)]
    )

    with pytest.raises(archive.ArchiveError) as raised:
        archive.extract(many, tmp_path / "out", max_members=10)

    assert "'f10'" in str(raised.value)
    assert "limit of 10 entries" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_extract_rejects_decompression_bomb(tmp_path):
    # 64 MiB of zeros compress to about 64 KiB.
    bomb = make_tar(tmp_path / "bomb.tar.gz", [("zeros", bytes(64 << 20))])

    with pytest.raises(archive.ArchiveError) as raised:
        archive.extract(bomb, tmp_path / "out", max_bytes=1 << 20)

    assert "'zeros'" in str(raised.value)
    assert "decompression bomb" in str(raised.value)
    assert bomb.stat().st_size < 1 << 20
    assert not (tmp_path / "out").exists()


def test_extract_reports_non_archive(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")

    with pytest.raises(archive.ArchiveError, match="not a tar archive"):
        archive.extract(junk, tmp_path / "out")


def write_tree(root):
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text("print('hi')\n")
    (root / "pkg" / "model.py").write_text("x = 1\n" * 1000)
    (root / "weights.bin").write_bytes(os.urandom(3 << 20))
    return root


def test_pack_is_deterministic_across_times(tmp_path):
    root = write_tree(tmp_path / "src")
    first = archive.pack(archive.list_files(root), tmp_path / "a.tar.gz")
    os.utime(root / "train.py", (1, 1))
    second = archive.pack(archive.list_files(root), tmp_path / "b.tar.gz")

    assert first == second
    assert archive.file_sha256(tmp_path / "a.tar.gz") == first


def test_pack_round_trips_and_streams_as_one_gzip_member(tmp_path):
    root = write_tree(tmp_path / "src")
    target = tmp_path / "a.tar.gz"
    archive.pack(archive.list_files(root), target)

    names = archive.extract(target, tmp_path / "out")
    with tarfile.open(target, "r|gz") as stream:
        streamed = [member.name for member in stream]

    assert names == ["pkg/model.py", "train.py", "weights.bin"]
    assert streamed == names
    for name in names:
        original = (root / name).read_bytes()
        assert (tmp_path / "out" / name).read_bytes() == original
    assert gzip.decompress(target.read_bytes())[:100]


def test_select_files_applies_defaults_ignore_file_and_excludes(tmp_path):
    root = tmp_path / "code"
    for name in (
        "train.py",
        "notes.log",
        "keep.log",
        ".git/HEAD",
        "pkg/__pycache__/m.pyc",
        "env/pyvenv.cfg",
        "env/lib/site.py",
        "data/raw/big.csv",
        "data/small.csv",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    (root / ignore.IGNORE_FILE).write_text("*.log\n!keep.log\n")

    selection = ignore.select_files(root, ["data/raw/"])
    names = [name for name, _, _ in selection.files]

    assert names == [
        ignore.IGNORE_FILE,
        "data/small.csv",
        "keep.log",
        "train.py",
    ]


def test_select_files_skips_archive_being_written(tmp_path):
    root = tmp_path / "code"
    root.mkdir()
    (root / "train.py").write_text("x")
    (root / "out.tar.gz").write_text("partial")

    selection = ignore.select_files(root, skip=[root / "out.tar.gz"])

    assert [name for name, _, _ in selection.files] == ["train.py"]


def test_selection_flags_secrets_and_ranks_largest(tmp_path):
    root = tmp_path / "code"
    (root / "keys").mkdir(parents=True)
    (root / ".env").write_text("TOKEN=1")
    (root / ".env.example").write_text("TOKEN=")
    (root / "keys" / "id_rsa").write_text("-----BEGIN")
    (root / "big.bin").write_bytes(bytes(5000))
    (root / "train.py").write_text("print(1)\n")

    selection = ignore.select_files(root)

    assert selection.secrets() == [".env", "keys/id_rsa"]
    assert selection.largest(2) == [("big.bin", 5000), ("keys/id_rsa", 10)]
