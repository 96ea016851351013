"""LogFollower with --grep, on servers with and without the filter."""

import re
import warnings

import pytest

from pdtrain_core.exceptions import UsageError
from pdtrain_core.log_follower import LogFollower, LogQuery, compile_grep


class CursorServer:
    """A log endpoint with cursors; grep only when `grep` is offered."""

    def __init__(self, messages, capabilities=("log_cursor",), scan=None):
        self.events = [
            {"id": i + 1, "timestamp": 1000 + i, "message": message}
            for i, message in enumerate(messages)
        ]
        self.capabilities = capabilities
        self.scan = scan  # rows scanned per response with grep
        self.requests = []

    def has(self, capability):
        return capability in self.capabilities

    def get_logs(self, run_id, limit=None, next_token=None, **filters):
        self.requests.append(dict(filters, next_token=next_token))
        after = int(next_token or 0)
        rows = [e for e in self.events if e["id"] > after]
        grep = filters.get("grep")
        if grep is None:
            page = rows[:limit]
            cursor = page[-1]["id"] if page else after
            return {"events": page, "next_token": str(cursor)}
        scanned = rows[: self.scan]
        flags = re.IGNORECASE if filters.get("ignore_case") else 0
        found = [e for e in scanned if re.search(grep, e["message"], flags)]
        cursor = scanned[-1]["id"] if scanned else after
        more = len(scanned) < len(rows)
        return {"events": found, "next_token": str(cursor), "more": more}


def _follow(server, query):
    printed = []

    def emit(events):
        printed.extend(event["message"] for event in events)

    follower = LogFollower(server, "r1", emit, query, use_cursor=True)
    follower.first()
    return follower, printed


def test_grep_tail_in_client_reads_whole_log():
    messages = [f"loss {i}" if i % 50 == 0 else "noise" for i in range(2500)]
    server = CursorServer(messages)
    query = LogQuery(tail=2, pattern=compile_grep("loss"))

    follower, printed = _follow(server, query)

    assert printed == ["loss 2400", "loss 2450"]
    assert follower.token == "2500"


def test_grep_on_server_pages_on_while_more():
    messages = ["noise"] * 30 + ["loss 1"] + ["noise"] * 30 + ["loss 2"]
    server = CursorServer(messages, ("log_cursor", "log_grep"), scan=10)
    query = LogQuery(pattern=compile_grep("LOSS", ignore_case=True))

    follower, printed = _follow(server, query)

    assert printed == ["loss 1", "loss 2"]
    assert follower.token == str(len(messages))
    assert all(r["grep"] == "LOSS" for r in server.requests)
    assert all(r["ignore_case"] is True for r in server.requests)


def test_grep_compile_rejects_bad_pattern_in_one_line():
    with pytest.raises(UsageError) as caught:
        compile_grep("[unclosed")

    assert str(caught.value).startswith("Invalid --grep '[unclosed': ")
    assert "\n" not in str(caught.value)


def test_compile_grep_nested_set_warns_nothing():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pattern = compile_grep("[[:alpha:]]")

    assert caught == []
    assert pattern.search("a]")
