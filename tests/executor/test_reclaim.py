"""Output files, their tailer, and what a restart reclaims from them."""

import subprocess
import sys

from pdtrain_orchestrator.executors import output, reclaim


def test_split_lines_keeps_offsets_and_partial_line():
    lines, rest = output.split_lines(b"one\ntwo\r\nthr", 100, final=False)

    assert [(text, end) for text, _, end in lines] == [
        ("one", 104),
        ("two", 109),
    ]
    assert rest == b"thr"


def test_split_lines_cuts_overlong_line(monkeypatch):
    monkeypatch.setattr(output, "MAX_LINE_BYTES", 4)

    lines, rest = output.split_lines(b"abcdefg\n", 0, final=True)

    assert [text for text, _, _ in lines] == ["abcd", "efg"]
    assert rest == b""


def test_tailer_delivers_appended_lines_in_order(tmp_path):
    files = output.OutputFiles(tmp_path)
    got = []
    tailer = output.Tailer(
        output.ProcessOutput(files, lambda s, b: got.extend(b)), {}
    )
    tailer.start()
    with files.open_for_append()["stdout"] as handle:
        for number in range(2000):
            handle.write(f"{number}\n".encode())
        handle.write(b"no newline")
    tailer.finish()

    texts = [text for text, _, _ in got]
    assert texts == [str(n) for n in range(2000)] + ["no newline"]
    assert got[-1][2] == files.path("stdout").stat().st_size


def test_reclaim_kills_orphan_and_reads_unread_lines(tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "stdout.log").write_bytes(b"first\nsecond\nthird")
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=code,
        start_new_session=True,
    )
    reclaim.remember_process(logs, orphan.pid, code)

    killed = reclaim.end_orphan(logs)
    found = reclaim.unread_lines(logs, {"stdout": len(b"first\n")})

    assert killed is True
    assert orphan.wait(timeout=10) == -9
    assert not (logs / reclaim.PROCESS_FILE).exists()
    assert [(text, end) for text, _, end in found["stdout"]] == [
        ("second", 13),
        ("third", 18),
    ]


def test_reclaim_leaves_unrelated_process(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=tmp_path,
        start_new_session=True,
    )
    reclaim.remember_process(logs, other.pid, tmp_path / "elsewhere")

    killed = reclaim.end_orphan(logs)

    assert killed is False
    assert other.poll() is None
    other.kill()
    other.wait()
