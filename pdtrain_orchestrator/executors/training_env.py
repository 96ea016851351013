"""Config files and SM_* variables of the SageMaker training contract."""

import os
import shutil
import subprocess
from dataclasses import dataclass

from . import hyperparameters as hp
from .base import RunSpec
from .layout import RunLayout, write_json

HOST = "algo-1"
GROUP = "homogeneousCluster"
INTERFACE = "eth0"
LOG_LEVEL = 20


@dataclass(frozen=True)
class TrainingConfig:
    """Decoded content of the three files under input/config."""

    hyperparameters: dict
    input_data: dict
    resource: dict


def build_config(
    spec: RunSpec, module_dir: str
) -> tuple[dict, TrainingConfig]:
    """Return hyperparameters.json content and the decoded config.

    Adds the sagemaker_* keys the SageMaker SDK sends in script mode, with
    module_dir (the code directory as the script sees it) standing in for
    the S3 URI of the source archive. A value the user set wins.
    """
    values = {
        "sagemaker_program": spec.entry,
        "sagemaker_submit_directory": module_dir,
        "sagemaker_container_log_level": LOG_LEVEL,
        "sagemaker_job_name": spec.run_id,
    }
    values.update(spec.hyperparameters)
    encoded = hp.encode_file(values)

    input_data = {}
    for channel in spec.channels:
        entry = {
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
        if channel.content_type:
            entry["ContentType"] = channel.content_type
        input_data[channel.name] = entry

    resource = {
        "current_host": HOST,
        "hosts": [HOST],
        "current_instance_type": spec.instance_type,
        "current_group_name": GROUP,
        "instance_groups": [
            {
                "instance_group_name": GROUP,
                "instance_type": spec.instance_type,
                "hosts": [HOST],
            }
        ],
        "network_interface_name": INTERFACE,
    }
    config = TrainingConfig(hp.decode_file(encoded), input_data, resource)
    return encoded, config


def write_config(
    tree: RunLayout, encoded: dict, config: TrainingConfig
) -> None:
    """Write the three files the toolkit reads from input/config."""
    write_json(tree.config_dir / "hyperparameters.json", encoded)
    write_json(tree.config_dir / "inputdataconfig.json", config.input_data)
    write_json(tree.config_dir / "resourceconfig.json", config.resource)


def count_gpus() -> int:
    """Count `GPU ` lines of `nvidia-smi --list-gpus`; 0 without one."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return 0
    try:
        listing = subprocess.run(
            [command, "--list-gpus"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(
        1 for line in listing.stdout.splitlines() if line.startswith("GPU ")
    )


def sm_variables(
    spec: RunSpec,
    layout: RunLayout,
    config: TrainingConfig,
    num_gpus: int,
) -> dict[str, str]:
    """Build the SM_* and related variables with the run's own paths."""
    user = hp.user_hyperparameters(config.hyperparameters)
    channels = sorted(config.input_data)
    module_name = os.path.splitext(spec.entry)[0].replace("/", ".")
    training_env = {
        "additional_framework_parameters": hp.framework_parameters(
            config.hyperparameters
        ),
        "channel_input_dirs": {
            name: str(layout.channel_dir(name)) for name in channels
        },
        "current_host": HOST,
        "current_instance_group": GROUP,
        "current_instance_type": spec.instance_type,
        "framework_module": "",
        "hosts": [HOST],
        "hyperparameters": user,
        "input_config_dir": str(layout.config_dir),
        "input_data_config": config.input_data,
        "input_dir": str(layout.input_dir),
        "is_hetero": False,
        "job_name": spec.run_id,
        "log_level": LOG_LEVEL,
        "master_hostname": HOST,
        "model_dir": str(layout.model_dir),
        "module_dir": str(layout.code_dir),
        "module_name": module_name,
        "network_interface_name": INTERFACE,
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": num_gpus,
        "num_neurons": 0,
        "output_data_dir": str(layout.output_data_dir),
        "output_dir": str(layout.output_dir),
        "output_intermediate_dir": str(layout.intermediate_dir),
        "resource_config": config.resource,
        "user_entry_point": spec.entry,
    }
    variables = {
        "SM_" + key.upper(): hp.env_value(value)
        for key, value in training_env.items()
    }
    variables.update(_renamed_variables(training_env, user, channels))
    variables["SM_TRAINING_ENV"] = hp.compact_json(training_env)
    return variables


def _renamed_variables(training_env: dict, user: dict, channels: list):
    # The toolkit exports some keys under names that differ from the
    # training_env key, and one variable per channel and hyperparameter.
    variables = {
        "SM_CHANNELS": hp.compact_json(channels),
        "SM_HPS": hp.compact_json(user),
        "SM_USER_ARGS": hp.compact_json(hp.to_argv(user)),
        "SM_FRAMEWORK_PARAMS": hp.compact_json(
            training_env["additional_framework_parameters"]
        ),
        "SM_RESOURCE_CONFIG": hp.compact_json(training_env["resource_config"]),
        "SM_INPUT_DATA_CONFIG": hp.compact_json(
            training_env["input_data_config"]
        ),
        "SM_IS_HETERO": "false",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": hp.compact_json([HOST]),
        "SM_INSTANCE_GROUPS": hp.compact_json([GROUP]),
        "SM_INSTANCE_GROUPS_DICT": hp.compact_json(
            {
                GROUP: {
                    "hosts": [HOST],
                    "instance_group_name": GROUP,
                    "instance_type": training_env["current_instance_type"],
                }
            }
        ),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": "[]",
    }
    for name, path in training_env["channel_input_dirs"].items():
        variables["SM_CHANNEL_" + name.upper()] = path
    for key, value in user.items():
        variables["SM_HP_" + key.upper()] = hp.env_value(value)
    return variables


def job_variables(spec: RunSpec, layout: RunLayout) -> dict[str, str]:
    """Build the variables the platform sets beside the toolkit's SM_*."""
    return {
        "TRAINING_JOB_NAME": spec.run_id,
        "SAGEMAKER_JOB_NAME": spec.run_id,
        "CURRENT_HOST": HOST,
        "SM_CHECKPOINT_DIR": str(layout.checkpoint_dir),
        "PYTHONUNBUFFERED": "1",
    }


# The orchestrator's own settings (PDTRAIN_*) and AWS credentials (AWS_*,
# which reach the S3 bucket of every owner) may hold secrets, and stale
# contract variables would contradict the ones set for the run. A run
# that needs AWS access gets its own values through the run's env.
_HOST_DROPPED_PREFIXES = (
    "PDTRAIN_",
    "AWS_",
    "SM_",
    "TRAINING_JOB_",
    "SAGEMAKER_",
)
_HOST_DROPPED = frozenset({"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"})


def host_variables() -> dict[str, str]:
    """Return the orchestrator's environment minus what a run must not see."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _HOST_DROPPED
        and not key.startswith(_HOST_DROPPED_PREFIXES)
    }
