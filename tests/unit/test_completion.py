"""The completion engine and the scripts `pdtrain complete` prints."""

import io
import os
import subprocess
import sys
import threading

import pytest

from pdtrain_core import completion
from pdtrain_core.app import PdtrainApp


class FakeLiveValues:
    """Server values without a server, recording which kinds were asked."""

    def __init__(self):
        self.asked = []

    def get(self, kind, wait=completion.FETCH_WAIT):
        self.asked.append(kind)
        return {"runs": ["abc123", "abd456"], "bundles": ["iris"]}.get(
            kind, []
        )


@pytest.fixture
def completer(tmp_path, monkeypatch):
    monkeypatch.setenv("PDTRAIN_HOME", str(tmp_path))
    app = PdtrainApp(io.StringIO(), io.StringIO(), io.StringIO())
    app.options = app.parser.parse_known_args([])[0]
    return completion.Completer(app, FakeLiveValues(), shell=True)


def test_one_shot_completion_omits_shell_commands(completer):
    one_shot = completion.Completer(completer.app, FakeLiveValues())

    candidates = one_shot.complete_line("")

    assert "run" in candidates
    assert "help" in candidates
    assert "exit" not in candidates
    assert "history" not in candidates


@pytest.mark.parametrize(
    "line, expected",
    [
        ("", None),
        ("ru", ["run"]),
        ("run li", ["list"]),
        ("run show ab", ["abc123", "abd456"]),
        ("run show abc", ["abc123"]),
        ("logs --follow ab", ["abc123", "abd456"]),
        ("run list --sta", ["--status"]),
        ("run list --status fa", ["failed"]),
        ("run create --bundle ", ["iris"]),
        ("--profile x run sh", ["show"]),
        ("complete --shell ", ["bash", "zsh"]),
        ("run show abc123 ", []),
    ],
)
def test_completion_candidates(completer, line, expected):
    candidates = completer.complete_line(line)

    if expected is None:
        assert {"run", "bundle", "profile", "exit"} <= set(candidates)
    else:
        assert candidates == expected


def test_completion_split_line_open_quote():
    assert completion.split_line('run show "ab') == (["run", "show"], "ab")
    assert completion.split_line("run show ") == (["run", "show"], "")


def test_live_values_cached_then_refetched():
    now = [100.0]
    calls = []

    def factory():
        calls.append(now[0])
        return None

    values = completion.LiveValues(factory, clock=lambda: now[0])
    completion._FETCHERS["test"] = lambda client: ["x"]
    try:
        values._cache["test"] = (100.0, ["cached"])
        assert values.get("test") == ["cached"]
        now[0] += completion.CACHE_SECONDS + 1
        assert values.get("test") == ["cached"]
        assert calls == [now[0]]
    finally:
        del completion._FETCHERS["test"]


def test_live_values_slow_fetch_does_not_block():
    release = threading.Event()

    def slow_factory():
        release.wait(10)
        return None

    values = completion.LiveValues(slow_factory)
    try:
        assert values.get("runs", wait=0.05) == []
    finally:
        release.set()


def test_bash_script_completes_commands(tmp_path):
    home = tmp_path / "home"
    script = subprocess.run(
        ["pdtrain", "complete", "--shell", "bash"],
        capture_output=True, text=True, check=True,
        env={"PDTRAIN_HOME": str(home), "PATH": _path()},
    ).stdout  # fmt: skip
    probe = (
        script
        + 'COMP_LINE="pdtrain run li"; COMP_POINT=${#COMP_LINE}\n'
        + '_pdtrain_complete; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )

    result = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True,
        env={"PDTRAIN_HOME": str(home), "PATH": _path()},
    )  # fmt: skip

    assert result.stdout == "list\n"
    assert "complete -o default -F _pdtrain_complete pdtrain" in script


def _path():
    return f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"
