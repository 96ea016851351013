"""Run references: full ids, unique id prefixes and run names."""

import logging

import pytest

from pdtrain_core import refs
from pdtrain_core.exceptions import InvalidReference, NotFound

IDS = [
    "abcd1111" + "0" * 24,
    "abcd2222" + "0" * 24,
    "ef012345" + "0" * 24,
]


class RunServer:
    """The run list of one owner; names need the run_names capability."""

    def __init__(self, runs, names=True):
        self.runs = runs
        self.names = names
        self.listed = 0

    def has(self, capability):
        return self.names and capability == "run_names"

    def list_runs(self, status=None, name=None, limit=None):
        self.listed += 1
        return [r for r in self.runs if name is None or r["name"] == name]

    def get_run(self, run_id):
        for run in self.runs:
            if run["id"] == run_id:
                return run
        raise NotFound(404, f"run {run_id} not found", "not_found")


def _runs():
    return [
        {"id": IDS[0], "name": "nightly", "created_at": "2026-01-01T00:00Z"},
        {"id": IDS[1], "name": "nightly", "created_at": "2026-01-02T00:00Z"},
        {"id": IDS[2], "name": "abcd", "created_at": "2026-01-03T00:00Z"},
    ]


def test_run_ref_full_id_needs_no_request():
    server = RunServer(_runs())

    assert refs.resolve_run_id(server, IDS[2]) == IDS[2]
    assert server.listed == 0


def test_run_ref_unique_prefix_resolves():
    assert refs.resolve_run_id(RunServer(_runs()), "ef01") == IDS[2]
    assert refs.resolve_run_id(RunServer(_runs()), "ABCD11") == IDS[0]


def test_run_ref_ambiguous_prefix_lists_candidates():
    server = RunServer(_runs(), names=False)

    with pytest.raises(InvalidReference) as caught:
        refs.resolve_run_id(server, "abcd")

    message = str(caught.value)
    assert "'abcd' is ambiguous" in message
    assert IDS[0] in message
    assert IDS[1] in message
    assert "\n" not in message


def test_run_ref_name_wins_over_prefix():
    assert refs.resolve_run_id(RunServer(_runs()), "abcd") == IDS[2]


def test_run_ref_name_picks_newest_and_warns(caplog):
    with caplog.at_level(logging.WARNING):
        chosen = refs.resolve_run_id(RunServer(_runs()), "nightly")

    assert chosen == IDS[1]
    assert "matches 2 runs; using the newest" in caplog.text
    assert IDS[1] in caplog.text


@pytest.mark.parametrize("text", ["abc", "nope-not-there", "ef01x"])
def test_run_ref_unknown_is_not_found_with_hint(text):
    with pytest.raises(NotFound) as caught:
        refs.resolve_run_id(RunServer(_runs()), text)

    assert f"Run {text!r} not found" in str(caught.value)
    assert "`pdtrain run list`" in str(caught.value)
    assert "at least 4 characters" in str(caught.value)


def test_run_ref_empty_is_invalid():
    with pytest.raises(InvalidReference):
        refs.resolve_run_id(RunServer(_runs()), " ")
