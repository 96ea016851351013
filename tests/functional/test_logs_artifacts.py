"""Log following and artifact files through the CLI, on a real server."""

import json
import time

from tests.functional.conftest import read_tar_member

BURSTS = """\
import sys, time
for burst in range(10):
    sys.stdout.write("".join(
        f"burst {burst} line {n}\\n" for n in range(1000)))
    sys.stdout.flush()
    time.sleep(0.1)
"""
MIXED = """\
import json, os, sys
print("to stdout", flush=True)
print("to stderr", file=sys.stderr, flush=True)
model = os.environ["SM_MODEL_DIR"]
os.makedirs(os.path.join(model, "sub"))
with open(os.path.join(model, "sub", "weights.bin"), "wb") as handle:
    handle.write(b"\\x00" * 4096)
with open(os.path.join(model, "metrics.json"), "w") as handle:
    json.dump({"accuracy": 0.93}, handle)
checkpoints = os.environ["SM_CHECKPOINT_DIR"]
with open(os.path.join(checkpoints, "epoch-1.pt"), "w") as handle:
    handle.write("checkpoint")
"""


def _bundle(cli, tmp_path, name, script):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "train.py").write_text(script)
    cli.json("bundle", "upload", folder, "--name", name)


def test_logs_follow_prints_burst_lines_exactly(cli, tmp_path):
    _bundle(cli, tmp_path, "bursts", BURSTS)
    run = cli.json("run", "create", "--bundle", "bursts", "--submit")

    result = cli("logs", run["id"], "--follow")

    expected = [
        f"burst {burst} line {n}" for burst in range(10) for n in range(1000)
    ]
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected


def _mixed_run(cli, tmp_path):
    _bundle(cli, tmp_path, "mixed", MIXED)
    return cli.json(
        "run", "create", "--bundle", "mixed", "--wait", "--interval", "0.3"
    )


def test_logs_filter_stream_time_and_tail(cli, tmp_path):
    run = _mixed_run(cli, tmp_path)

    errors = cli("logs", run["id"], "--stream", "stderr")
    stamped = cli("logs", run["id"], "--timestamps", "--tail", "1")
    recent = cli("logs", run["id"], "--since", "10m", "--stream", "stdout")
    future = cli("logs", run["id"], "--since", "2999-01-01T00:00:00Z")
    bad = cli("logs", run["id"], "--since", "yesterday")

    assert errors.stdout.splitlines() == ["to stderr"]
    assert stamped.stdout.endswith("Z to stderr\n")
    assert stamped.stdout.startswith("20")
    assert recent.stdout.splitlines() == ["to stdout"]
    assert future.stdout == ""
    assert bad.returncode == 2
    assert "Invalid --since 'yesterday'" in bad.stderr


def test_artifacts_list_files_and_download_some(cli, tmp_path):
    run = _mixed_run(cli, tmp_path)
    target = tmp_path / "picked"

    rows = cli.json("artifacts", "list", run["id"])
    listed = {row["path"]: row for row in rows}
    download = cli(
        "artifacts", "download", run["id"], "--include", "model/sub/*",
        "--include", "checkpoints/*", "--output", target,
    )
    again = cli(
        "artifacts", "download", run["id"], "--include", "model/sub/*",
        "--output", target, "--force",
    )
    missing = cli("artifacts", "download", run["id"], "--include", "nope/*")
    shown = cli.json("run", "show", run["id"])

    assert listed["model/sub/weights.bin"]["kind"] == "member"
    assert listed["model/sub/weights.bin"]["size_bytes"] == 4096
    assert len(listed["model/sub/weights.bin"]["sha256"]) == 64
    assert listed["model/sub/weights.bin"]["time"]
    assert listed["checkpoints/epoch-1.pt"]["kind"] == "checkpoint"
    assert "model.tar.gz" in listed
    assert download.returncode == 0, download.stderr
    assert again.returncode == 0, again.stderr
    files = sorted(
        str(path.relative_to(target)) for path in target.rglob("*")
        if path.is_file()
    )
    assert files == ["checkpoints/epoch-1.pt", "model/sub/weights.bin"]
    assert (target / "model/sub/weights.bin").read_bytes() == b"\x00" * 4096
    assert missing.returncode == 2
    assert "--include 'nope/*' matches no artifact" in missing.stderr
    assert shown["metrics"] == {"accuracy": 0.93}


def test_run_watch_ndjson_streams_logs_and_summary(cli, tmp_path):
    slow_start = "import time\ntime.sleep(1.5)\n" + MIXED
    _bundle(cli, tmp_path, "streamed", slow_start)
    run = cli.json("run", "create", "--bundle", "streamed", "--submit")
    started = time.monotonic()

    result = cli("run", "watch", run["id"], "--logs", "-f", "ndjson")

    objects = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [item["event"] for item in objects]
    logs = [item["message"] for item in objects if item["event"] == "log"]
    summary = objects[-1]
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    assert kinds[0] == "status"
    assert kinds[-2:] == ["status", "summary"]
    assert logs == ["to stdout", "to stderr"]
    assert summary["status"] == "completed"
    assert summary["exit_code"] == 0
    assert summary["duration_seconds"] > 0
    assert {a["name"] for a in summary["artifacts"]} >= {"model.tar.gz"}
    model = tmp_path / "model.tar.gz"
    cli("artifacts", "download", run["id"], "--include", "model.tar.gz",
        "--output", tmp_path)
    assert read_tar_member(model, "metrics.json") == b'{"accuracy": 0.93}'
