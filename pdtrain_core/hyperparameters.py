"""Hyperparameter values as SageMaker receives them.

CreateTrainingJob takes hyperparameters as a map of strings. pdtrain
keeps the JSON value a user gave and converts it when a run goes to
SageMaker: strings as they are, booleans lower-case (`true`), numbers
in their JSON spelling, null as an empty string, and lists and objects
as compact JSON. `run show` displays the result beside the values.
"""

import json


def to_sagemaker(value) -> str:
    """Return the string SageMaker receives for one JSON value."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def all_to_sagemaker(values: dict) -> dict[str, str]:
    """Convert every value of a hyperparameter mapping."""
    return {str(key): to_sagemaker(value) for key, value in values.items()}
