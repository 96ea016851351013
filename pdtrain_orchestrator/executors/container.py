"""Image mode: run a training image with the run tree mounted at /opt/ml."""

import shutil
import subprocess
from pathlib import Path

ENGINES = ("docker", "podman")
INFO_TIMEOUT_SECONDS = 15
CONTAINER_ROOT = "/opt/ml"


class NoEngine(Exception):
    """No container engine is running; str() lists each failed check."""


def find_engine() -> str:
    """Return the path of the first engine whose `info` succeeds."""
    problems = []
    for name in ENGINES:
        path = shutil.which(name)
        if path is None:
            problems.append(f"{name} not installed")
            continue
        try:
            info = subprocess.run(
                [path, "info"],
                capture_output=True,
                text=True,
                timeout=INFO_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            problems.append(f"{name} info failed: {error}")
            continue
        if info.returncode == 0:
            return path
        lines = [line for line in info.stderr.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit {info.returncode}"
        problems.append(f"{name} info failed: {detail}")
    raise NoEngine("; ".join(problems))


def container_name(run_id: str) -> str:
    """Return the container name used for a run."""
    return f"pdtrain-{run_id}"


def run_argv(
    engine: str,
    image: str,
    run_id: str,
    run_dir: Path,
    env_file: Path,
) -> list[str]:
    """Build the engine command that runs the image's `train` command.

    The image's own training toolkit reads the config files and sets the
    SM_* variables, so only the platform's variables go in env_file.
    """
    return [
        engine,
        "run",
        "--rm",
        "--name",
        container_name(run_id),
        "--env-file",
        str(env_file),
        "--volume",
        f"{run_dir}:{CONTAINER_ROOT}",
        image,
        "train",
    ]


def kill(engine: str, run_id: str) -> None:
    """Kill the run's container; the engine client's death leaves it up."""
    subprocess.run(
        [engine, "kill", container_name(run_id)],
        capture_output=True,
        timeout=INFO_TIMEOUT_SECONDS,
        check=False,
    )


def write_env_file(path: Path, variables: dict[str, str]) -> None:
    """Write KEY=value lines; values with a newline are left out."""
    lines = [
        f"{key}={value}"
        for key, value in sorted(variables.items())
        if "\n" not in value
    ]
    path.write_text("\n".join(lines) + "\n")
