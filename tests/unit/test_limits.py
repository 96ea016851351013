import pytest

from pdtrain_core import limits


def test_limits_accept_values_at_the_limit():
    limits.check_hyperparameters(
        {"k" * 256: "v" * 2498, **{f"k{i}": i for i in range(99)}}
    )
    limits.check_env({"K" * 512: "v" * 512})
    limits.check_name("--name", "a" * 128)
    limits.check_channel("--dataset", "c" * 64)


@pytest.mark.parametrize(
    ("check", "value", "field", "words"),
    [
        (limits.check_hyperparameters, {"": 1}, "hyperparameters", "empty"),
        (
            limits.check_hyperparameters,
            {"lr": "1" * 2499},
            "hyperparameters.lr",
            "2501 characters (as JSON)",
        ),
        (
            limits.check_hyperparameters,
            {"x": "a\x00b"},
            "hyperparameters.x",
            "NUL",
        ),
        (limits.check_env, {"1X": "v"}, "env.1X", "invalid environment"),
        (limits.check_env, {"X": "a\x00"}, "env.X", "NUL"),
        (
            limits.check_env,
            {f"V{i}": "" for i in range(101)},
            "env",
            "limit of 100",
        ),
    ],
)
def test_limits_reject_naming_field(check, value, field, words):
    with pytest.raises(limits.LimitError) as caught:
        check(value)

    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b", "x" * 129, "é"])
def test_limits_check_name_rejects(name):
    with pytest.raises(limits.LimitError, match="letters, digits"):
        limits.check_name("--name", name)


def test_limits_hyperparameter_value_is_measured_as_json():
    assert limits.encoded_value("ab") == '"ab"'
    assert limits.encoded_value([1, 2]) == "[1, 2]"
