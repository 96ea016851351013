"""`logs --grep` on a real server, filtered there or in the client."""

import requests

LINES = """\
import sys, time
for i in range(5):
    print(f"epoch {i} loss {i * 10}", flush=True)
    print(f"debug {i}", flush=True)
    time.sleep(DELAY)
print("EPOCH done", file=sys.stderr, flush=True)
time.sleep(DELAY * 3)
"""
LOSS_LINES = [f"epoch {i} loss {i * 10}" for i in range(5)]


def _run(cli, tmp_path, delay=0, wait=True):
    folder = tmp_path / "grep-code"
    folder.mkdir()
    (folder / "train.py").write_text(LINES.replace("DELAY", str(delay)))
    cli.json("bundle", "upload", folder, "--name", "grepper")
    extra = ("--wait", "--interval", "0.3") if wait else ("--submit",)
    return cli.json("run", "create", "--bundle", "grepper", *extra)


def _lines(cli, *args):
    result = cli("logs", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_logs_grep_filters_with_every_option(cli, tmp_path):
    run_id = _run(cli, tmp_path)["id"]

    assert _lines(cli, run_id, "--grep", "loss") == LOSS_LINES
    assert _lines(cli, run_id, "--grep", "^epoch", "-i") == [
        *LOSS_LINES,
        "EPOCH done",
    ]
    assert _lines(cli, run_id, "--grep", "loss", "--tail", "2") == [
        "epoch 3 loss 30",
        "epoch 4 loss 40",
    ]
    assert _lines(cli, run_id, "--grep", "o", "--stream", "stderr") == [
        "EPOCH done"
    ]
    assert _lines(cli, run_id, "--grep", r"debug [34]", "--since", "1h") == [
        "debug 3",
        "debug 4",
    ]


def test_logs_grep_invalid_pattern_is_usage_error(cli):
    bad = cli("logs", "any-run", "--grep", "a(")
    lonely = cli("logs", "any-run", "--ignore-case")

    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: Invalid --grep 'a(': ")
    assert len(bad.stderr.splitlines()) == 1
    assert lonely.returncode == 2
    assert "--ignore-case applies only with --grep" in lonely.stderr


def _is_logs(method, path, query):
    return path.endswith("/logs")


def test_logs_follow_grep_reads_each_line_once(pcli, proxy, tmp_path):
    run_id = _run(pcli, tmp_path, delay=0.3, wait=False)["id"]

    followed = _lines(pcli, run_id, "--follow", "--grep", "loss")

    assert followed == LOSS_LINES
    grep_requests = [s for s in proxy.seen if _is_logs(s.method, s.path, {})]
    assert grep_requests
    assert all(s.query.get("grep") == "loss" for s in grep_requests)
    # Polls during the run's last second saw only lines that do not
    # match, and the cursor still moved past them.
    everything = requests.get(
        f"{proxy.url}/v1/runs/{run_id}/logs",
        params={"next_token": "0", "limit": 10_000},
        headers={"Authorization": f"Bearer {pcli.env['PDTRAIN_API_KEY']}"},
        timeout=30,
    ).json()["events"]
    last_match = max(e["id"] for e in everything if "loss" in e["message"])
    assert int(grep_requests[-1].query["next_token"]) > last_match


def _no_capabilities(method, path, query):
    return path.rstrip("/") == "/v1/capabilities"


def test_logs_grep_filters_in_client_without_capability(
    pcli, proxy, tmp_path
):
    run_id = _run(pcli, tmp_path)["id"]
    proxy.add(_no_capabilities, "status", status=404, detail="Not Found")

    plain = _lines(pcli, run_id, "--grep", "LOSS", "--ignore-case")
    tail = _lines(pcli, run_id, "--grep", "loss", "--tail", "1")
    followed = _lines(pcli, run_id, "--grep", "loss", "--follow")

    assert plain == LOSS_LINES
    assert tail == ["epoch 4 loss 40"]
    assert followed == LOSS_LINES
    sent = [s.query for s in proxy.seen if _is_logs(s.method, s.path, {})]
    assert sent
    assert not any("grep" in query for query in sent)
