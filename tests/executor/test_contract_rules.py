"""Hyperparameter, framework and failure-text rules of the contract."""

import json

import pytest

from pdtrain_orchestrator import frameworks
from pdtrain_orchestrator.executors import failure, frameworks_env
from pdtrain_orchestrator.executors import hyperparameters as hp
from pdtrain_orchestrator.executors.process import ProcessResult


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("3", "3"),
        ("0.01", "0.01"),
        ("1e3", "1000.0"),
        ("true", "True"),
        ("false", "False"),
        ("adam", "adam"),
        ('"adam"', "adam"),
        ("007", "007"),
        ("null", ""),
        ("[64, 32]", "[64, 32]"),
        ('{"b": 2, "a": "x"}', "a=x,b=2"),
    ],
)
def test_argv_value_from_stored_text(stored, expected):
    decoded = hp.decode_file({"key": stored})

    assert hp.to_argv(decoded) == ["--key", expected]


def test_argv_sorts_keys_and_drops_reserved():
    decoded = {
        "lr": 0.1,
        "B": 1,
        "a": 2,
        "sagemaker_program": "train.py",
        "_tuning_objective_metric": "loss",
    }

    argv = hp.to_argv(hp.user_hyperparameters(decoded))

    assert argv == ["-B", "1", "-a", "2", "--lr", "0.1"]


def test_encode_file_stores_json_strings():
    encoded = hp.encode_file({"epochs": 3, "opt": "adam", "amp": True})

    assert encoded == {"epochs": "3", "opt": '"adam"', "amp": "true"}
    assert all(isinstance(value, str) for value in encoded.values())


def test_env_value_encoding():
    assert hp.env_value("adam") == "adam"
    assert hp.env_value(None) == ""
    assert hp.env_value(True) == "true"
    assert hp.env_value({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


@pytest.mark.parametrize("version", ["1.2-1", "1.2.1"])
def test_framework_accepts_both_spellings(version):
    found = frameworks_env.resolve("sklearn", version)

    assert found.version == "1.2-1"
    assert "scikit-learn==1.2.1" in found.requirements
    assert "pandas" in found.requirements


def test_framework_pytorch_plain_version():
    found = frameworks_env.resolve("pytorch", "2.2.0")

    assert found.requirements[0] == "torch==2.2.0"


def test_framework_unknown_version_lists_known():
    with pytest.raises(frameworks_env.UnknownFramework) as caught:
        frameworks_env.resolve("xgboost", "9.9-9")

    assert "1.7-1" in str(caught.value)


def test_framework_unknown_name():
    with pytest.raises(frameworks_env.UnknownFramework) as caught:
        frameworks_env.resolve("caffe", "1.0")

    assert "pytorch" in str(caught.value)


def test_error_lines_take_exception_of_traceback():
    tail = [
        "loading",
        "Traceback (most recent call last):",
        '  File "train.py", line 3, in <module>',
        '    raise ValueError("boom")',
        "ValueError: boom",
    ]

    assert failure.error_lines(tail) == ["ValueError: boom"]


def test_error_lines_without_traceback_keep_tail():
    tail = [f"line {index}" for index in range(30)] + [""]

    assert failure.error_lines(tail) == [f"line {i}" for i in range(20, 30)]


def test_summary_names_exit_code_and_command():
    result = ProcessResult(-9, ["Killed"])

    text = failure.summary(result, ["python", "--", "train.py", "--a b"])

    assert text.splitlines() == [
        "ExecuteUserScriptError:",
        "ExitCode 137",
        'ErrorMessage "Killed"',
        "Command \"python -- train.py '--a b'\"",
    ]


def test_compact_json_sorts_without_spaces():
    assert hp.compact_json({"b": 1, "a": 2}) == json.dumps(
        {"a": 2, "b": 1}, separators=(",", ":")
    )


def test_every_framework_version_has_packages():
    for name, versions in frameworks.FRAMEWORKS.items():
        for version in versions:
            found = frameworks_env.resolve(name, version)
            assert found.requirements, (name, version)


def test_framework_alias_resolves():
    assert frameworks_env.resolve("torch", "2.2.0").framework == "pytorch"
