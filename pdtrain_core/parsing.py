"""Parse command-line values such as ``KEY=VALUE`` pairs.

Plugins call these so that every command reports a malformed value the
same way: one line naming the option, the value and the expected form.
"""

import json
import re

from pdtrain_core.exceptions import UsageError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def split_key_value(text: str, option: str) -> tuple[str, str]:
    """Split "KEY=VALUE" at the first "=", rejecting an empty key."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(
            f"Invalid {option} value {text!r}: expected KEY=VALUE"
        )
    return key, value


def parse_hyperparameters(values, option="--hyperparameter") -> dict:
    """Return {key: value}, each value parsed as JSON when it is valid.

    "lr=0.1" gives 0.1, "layers=[64,32]" a list, "name=resnet" the
    string "resnet". A later repeat of a key wins.
    """
    result = {}
    for text in values or ():
        key, raw = split_key_value(text, option)
        try:
            result[key] = json.loads(raw)
        except ValueError:
            result[key] = raw
    return result


def parse_env(values, option="--env") -> dict:
    """Return {NAME: value} with every value kept as a string."""
    result = {}
    for text in values or ():
        key, value = split_key_value(text, option)
        if not _ENV_NAME.match(key):
            raise UsageError(
                f"Invalid {option} name {key!r} in {text!r}: use letters, "
                "digits and _, not starting with a digit"
            )
        result[key] = value
    return result


def parse_dataset_input(text: str) -> tuple[str | None, str]:
    """Split "CHANNEL=REF" into (channel, ref); a bare REF has no channel."""
    if "=" not in text:
        return None, text
    channel, ref = split_key_value(text, "--dataset")
    if not _CHANNEL_NAME.match(channel):
        raise UsageError(
            f"Invalid channel name {channel!r} in --dataset {text!r}: use "
            "letters, digits, '.', '_' and '-'"
        )
    if not ref:
        raise UsageError(
            f"Invalid --dataset value {text!r}: expected CHANNEL=REF"
        )
    return channel, ref
