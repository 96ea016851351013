"""Run spec files, SageMaker hyperparameter strings, ndjson, selections."""

import argparse
import io
import json

import pytest

from pdtrain_core import artifact_select, hyperparameters, ndjson, run_spec
from pdtrain_core.exceptions import TransferError, UsageError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("resnet", "resnet"),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (0.001, "0.001"),
        (None, ""),
        ([64, 32], "[64,32]"),
        ({"b": 1, "a": [True]}, '{"a":[true],"b":1}'),
    ],
)
def test_to_sagemaker_converts_json_values(value, expected):
    assert hyperparameters.to_sagemaker(value) == expected


def test_spec_load_ignores_state_fields(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "id: abc\nstatus: completed\nbundle: {id: b1, s3_uri: x}\n"
        "hyperparameters: {lr: 0.1}\nmax_runtime_seconds: 60\n"
    )

    spec = run_spec.load(str(path))
    options = argparse.Namespace(max_runtime=None, name="kept")
    run_spec.apply_options(dict(spec, name="ignored"), options)

    assert "id" not in spec
    assert run_spec.bundle_reference(spec) == {"id": "b1"}
    assert options.max_runtime == 60
    assert options.name == "kept"
    assert run_spec.merged(spec, "hyperparameters", {"lr": 1}) == {"lr": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bundel: x\n", "unknown field 'bundel'"),
        ("- a\n", "must be a mapping"),
        ("env: [1]\n", "env must be a mapping"),
        ("bundle: [x\n", "not valid YAML at line"),
    ],
)
def test_spec_load_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "run.yaml"
    path.write_text(text)

    with pytest.raises(UsageError, match=message):
        run_spec.load(str(path))


def test_spec_inputs_split_resolved_and_references():
    spec = {
        "inputs": [
            {
                "dataset_id": "d1",
                "version": 2,
                "channel": "train",
                "dataset_name": "iris",
            },
            "extra=iris:1",
        ]
    }

    resolved, references = run_spec.inputs_of(spec)

    assert resolved == [
        {
            "type": "dataset",
            "dataset_id": "d1",
            "version": 2,
            "channel": "train",
        }
    ]
    assert references == ["extra=iris:1"]


def test_ndjson_writes_one_object_per_row():
    out = io.StringIO()
    formatter = ndjson.NdjsonFormatter()

    formatter.emit_list(("a", "b"), [(1, "x"), (2, None)], out, None)
    formatter.emit_one(("a",), (3,), out, None)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [{"a": 1, "b": "x"}, {"a": 2, "b": None}, {"a": 3}]


ARTIFACTS = [
    {
        "name": "model.tar.gz",
        "files": [
            {"path": "w.pt", "size_bytes": 1, "sha256": "a"},
            {"path": "cfg/m.json", "size_bytes": 2, "sha256": "b"},
        ],
    },
    {"name": "output.tar.gz", "files": []},
    {"name": "checkpoints/e1.pt"},
]


def test_select_picks_archives_and_members():
    chosen = artifact_select.select(ARTIFACTS, ["output.*", "model/cfg/*"])

    assert [a["name"] for a in chosen.whole] == ["output.tar.gz"]
    assert chosen.members == {
        "model.tar.gz": [("cfg/m.json", "model/cfg/m.json")]
    }


def test_select_rejects_glob_matching_nothing():
    with pytest.raises(UsageError, match="'data/\\*' matches no artifact"):
        artifact_select.select(ARTIFACTS, ["model/*", "data/*"])


def test_rows_reject_escaping_member_path():
    bad = [{"name": "model.tar.gz", "files": [{"path": "../etc/passwd"}]}]

    with pytest.raises(TransferError, match="not a safe relative path"):
        artifact_select.rows(bad)
