import io
import stat
import tarfile
import zipfile

import pytest

from pdtrain_core import archive_formats
from pdtrain_core.archive import ArchiveError


def read_tar_gz(path):
    with tarfile.open(path, "r:gz") as tar:
        return {
            member.name: (tar.extractfile(member).read(), member.mode)
            for member in tar.getmembers()
        }


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


def write_tar(path, members):
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_info(name, kind=tarfile.REGTYPE, link="", size=0, mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, size, mode
    return info


def test_zip_conversion_copies_internal_link_target(tmp_path):
    source = write_zip(
        tmp_path / "code.zip",
        [
            ("run.sh", b"echo hi\n", stat.S_IFREG | 0o755),
            ("lib/data.txt", b"rows\n", stat.S_IFREG | 0o644),
            ("data.txt", b"lib/data.txt", stat.S_IFLNK | 0o777),
            ("gone", b"missing.txt", stat.S_IFLNK | 0o777),
        ],
    )

    archive_formats.to_tar_gz(source, tmp_path / "out.tar.gz")
    members = read_tar_gz(tmp_path / "out.tar.gz")

    assert list(members) == ["data.txt", "lib/data.txt", "run.sh"]
    assert members["data.txt"] == (b"rows\n", 0o644)
    assert members["run.sh"] == (b"echo hi\n", 0o755)


def test_tar_conversion_copies_hard_link_and_sorts(tmp_path):
    source = write_tar(
        tmp_path / "code.tar",
        [
            (tar_info("z.py", size=2), b"z\n"),
            (tar_info("a.py", tarfile.LNKTYPE, link="z.py"), None),
            (tar_info("dir", tarfile.DIRTYPE, mode=0o755), None),
        ],
    )

    archive_formats.to_tar_gz(source, tmp_path / "out.tar.gz")
    members = read_tar_gz(tmp_path / "out.tar.gz")

    assert list(members) == ["a.py", "z.py"]
    assert members["a.py"] == (b"z\n", 0o644)


def test_conversion_is_byte_identical_across_runs(tmp_path):
    source = write_zip(
        tmp_path / "code.zip", [("train.py", b"x\n", stat.S_IFREG | 0o644)]
    )

    first = archive_formats.to_tar_gz(source, tmp_path / "a.tar.gz")
    second = archive_formats.to_tar_gz(source, tmp_path / "b.tar.gz")

    assert first == second


def test_detect_rejects_gzip_without_tar(tmp_path):
    path = tmp_path / "notes.tgz"
    path.write_bytes(b"\x1f\x8b" + b"\0" * 30)

    with pytest.raises(ArchiveError, match="not a tar archive"):
        archive_formats.detect(path)


def test_zip_check_names_escaping_link(tmp_path):
    source = write_zip(
        tmp_path / "code.zip",
        [("data", b"../../etc", stat.S_IFLNK | 0o777)],
    )

    with pytest.raises(ArchiveError, match="'data' is a link") as caught:
        archive_formats.check(source, 10**6, 10)

    assert caught.value.member == "data"
