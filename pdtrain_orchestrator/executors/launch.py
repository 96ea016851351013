"""Build the command line and environment that start a run's script."""

import os
import shutil
from pathlib import Path

from . import container, training_env
from .base import RunSpec
from .hyperparameters import to_argv, user_hyperparameters
from .layout import RunLayout
from .training_env import TrainingConfig


def write_config(spec: RunSpec, tree: RunLayout) -> TrainingConfig:
    """Write input/config for the run and return its decoded content."""
    if spec.image:
        module_dir = f"{container.CONTAINER_ROOT}/code"
    else:
        module_dir = str(tree.code_dir)
    encoded, config = training_env.build_config(spec, module_dir)
    training_env.write_config(tree, encoded, config)
    return config


def script_argv(spec: RunSpec, python: str, config: TrainingConfig):
    """Return `python -- entry args` or `bash entry args` for the run."""
    args = to_argv(user_hyperparameters(config.hyperparameters))
    if spec.entry.endswith(".sh"):
        return [shutil.which("bash") or "/bin/bash", spec.entry, *args]
    return [python, "--", spec.entry, *args]


def script_env(
    spec: RunSpec,
    tree: RunLayout,
    config: TrainingConfig,
    python: str,
    env_dir: Path | None,
    num_gpus: int,
) -> tuple[dict[str, str], list[str]]:
    """Return the script's environment and the user keys left out.

    The user's variables go over the orchestrator's own, and the contract
    variables (SM_*, TRAINING_JOB_NAME, CURRENT_HOST and the like) over
    both, as on SageMaker where the toolkit sets SM_* last. The user's
    PYTHONPATH is kept after the code directory.
    """
    env = training_env.host_variables()
    contract = training_env.job_variables(spec, tree)
    contract.update(training_env.sm_variables(spec, tree, config, num_gpus))
    ignored = []
    for key, value in spec.env.items():
        if key in contract or key.startswith("SM_"):
            ignored.append(key)
        else:
            env[key] = value
    env.update(contract)

    bin_dir = str(env_dir / "bin") if env_dir else os.path.dirname(python)
    env["PATH"] = os.pathsep.join(
        part for part in (bin_dir, env.get("PATH", "")) if part
    )
    if env_dir:
        env["VIRTUAL_ENV"] = str(env_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        part
        for part in (str(tree.code_dir), spec.env.get("PYTHONPATH"))
        if part
    )
    return env, ignored


def container_command(spec: RunSpec, tree: RunLayout):
    """Return argv, environment and kill hook that run the run's image.

    Raises container.NoEngine when no container engine is running.
    """
    engine = container.find_engine()
    env_file = tree.root / "container.env"
    variables = dict(spec.env)
    variables.update(training_env.job_variables(spec, tree))
    container.write_env_file(env_file, variables)
    argv = container.run_argv(
        engine, spec.image, spec.run_id, tree.root, env_file
    )

    # NOTE: no test runs a container, because the test machines have no
    # engine. The argv follows the `docker run` and `podman run` docs.
    def kill() -> None:
        container.kill(engine, spec.run_id)

    return argv, training_env.host_variables(), kill
