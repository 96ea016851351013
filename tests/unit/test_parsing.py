import pytest

from pdtrain_core import parsing
from pdtrain_core.exceptions import UsageError
from pdtrain_core.exitcodes import ExitCode


def test_hyperparameters_parse_json_values():
    values = ["lr=0.1", "epochs=3", "deep=true", "layers=[64, 32]", "m=res"]

    result = parsing.parse_hyperparameters(values)

    assert result == {
        "lr": 0.1,
        "epochs": 3,
        "deep": True,
        "layers": [64, 32],
        "m": "res",
    }


def test_hyperparameters_split_at_first_equals():
    result = parsing.parse_hyperparameters(["expr=a=b"])

    assert result == {"expr": "a=b"}


def test_hyperparameters_empty_value_is_empty_string():
    assert parsing.parse_hyperparameters(["tag="]) == {"tag": ""}


@pytest.mark.parametrize("value", ["lr", "=0.1", "  =x"])
def test_hyperparameters_reject_malformed_pair(value):
    with pytest.raises(UsageError) as caught:
        parsing.parse_hyperparameters([value])

    assert repr(value) in str(caught.value)
    assert "KEY=VALUE" in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


def test_env_keeps_values_as_strings():
    assert parsing.parse_env(["SEED=42"]) == {"SEED": "42"}


def test_env_rejects_invalid_name():
    with pytest.raises(UsageError, match="Invalid --env name '1X'"):
        parsing.parse_env(["1X=2"])


def test_dataset_input_with_channel():
    assert parsing.parse_dataset_input("train=mnist:3") == ("train", "mnist:3")


def test_dataset_input_without_channel():
    assert parsing.parse_dataset_input("mnist") == (None, "mnist")


def test_dataset_input_rejects_empty_reference():
    with pytest.raises(UsageError, match="expected CHANNEL=REF"):
        parsing.parse_dataset_input("train=")
