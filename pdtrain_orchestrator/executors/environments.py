"""Cached virtual environments for runs with requirements or a framework.

An environment is keyed by a hash of the interpreter's version, the
framework packages and the text of requirements.txt, so runs that ask for
the same things share one. A file lock per key keeps two runs from
building the same environment at once.
"""

import fcntl
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import env_store, frameworks_env
from .base import RunSpec
from .env_store import COMPLETE_MARKER
from .output import ProcessOutput
from .process import StopControl, run_process
from .training_env import host_variables

LOG = logging.getLogger(__name__)

REQUIREMENTS = "requirements.txt"
LOCK_POLL_SECONDS = 0.5
PIP_INSTALL = (
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--no-input",
    "--progress-bar",
    "off",
)


class EnvironmentFailure(Exception):
    """The environment could not be built; str() is the failure reason."""


class StopRequested(Exception):
    """A stop arrived while the environment was being prepared."""


def base_interpreter(python_version: str | None) -> tuple[str, str | None]:
    """Pick the interpreter for a SageMaker py_version such as py310.

    Returns its path and a note for the run's log when the requested
    version is not installed, so the orchestrator's own Python is used.
    """
    match = re.fullmatch(r"(?:py)?3\.?(\d*)", python_version or "")
    minor = match.group(1) if match else ""
    if not minor or int(minor) == sys.version_info.minor:
        return sys.executable, None

    found = shutil.which(f"python3.{minor}")
    if found:
        return found, None
    current = ".".join(str(part) for part in sys.version_info[:3])
    note = (
        f"Python 3.{minor} ({python_version}) is not installed here; "
        f"using Python {current}"
    )
    return sys.executable, note


def interpreter_version(python: str) -> str:
    """Return sys.version of the given interpreter."""
    if python == sys.executable:
        return sys.version
    completed = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return completed.stdout.strip()


class EnvironmentCache:
    """Virtual environments under envs_dir, one per content hash."""

    def __init__(self, envs_dir: Path):
        self.envs_dir = Path(envs_dir)

    def prepare(
        self,
        spec: RunSpec,
        code_dir: Path,
        note: Callable[[str], None],
        output: ProcessOutput,
        control: StopControl,
    ) -> tuple[str, Path | None]:
        """Return the Python to run with and its environment (None: host).

        A run with neither requirements.txt nor a framework uses the
        orchestrator's interpreter directly, so trivial runs start fast.
        """
        python, warning = base_interpreter(spec.python_version)
        if warning:
            note(warning)
        packages = self._framework_packages(spec)
        requirements = code_dir / REQUIREMENTS
        if not packages and not requirements.is_file():
            return python, None

        key = self._key(python, packages, requirements)
        env_dir = self.envs_dir / key
        with _locked(self.envs_dir / f"{key}.lock", note, control):
            if (env_dir / COMPLETE_MARKER).is_file():
                env_store.touch_marker(env_dir)
                note(f"Reusing cached environment {key}")
            else:
                details = _details(spec, python, packages, requirements)
                build = (python, env_dir, packages, code_dir, details)
                self._build(*build, note, output, control)
                note(f"Built environment {key}")
        return str(env_dir / "bin" / "python"), env_dir

    def _framework_packages(self, spec: RunSpec) -> tuple[str, ...]:
        if not spec.framework:
            return ()
        try:
            found = frameworks_env.resolve(
                spec.framework, spec.framework_version
            )
        except frameworks_env.UnknownFramework as error:
            raise EnvironmentFailure(f"ClientError: {error}") from error
        return found.requirements

    def _key(self, python, packages, requirements: Path) -> str:
        text = requirements.read_text() if requirements.is_file() else ""
        content = {
            "python": interpreter_version(python),
            "packages": list(packages),
            "requirements": text,
        }
        encoded = json.dumps(content, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:24]

    def _build(
        self,
        python,
        env_dir,
        packages,
        code_dir,
        details,
        note,
        output,
        control,
    ):
        # NOTE: the environment is built at its final path, not in a
        # temporary one renamed into place, because pip writes absolute
        # paths into script shebangs. The completion marker, written last
        # under the lock, is what makes an environment usable.
        if env_dir.exists():
            LOG.info("Removing incomplete environment %s", env_dir)
            shutil.rmtree(env_dir)
        env_dir.parent.mkdir(parents=True, exist_ok=True)

        step = _Step(code_dir, note, output, control)
        step.run(
            [python, "-m", "venv", str(env_dir)],
            "InternalServerError: creating the virtual environment failed",
        )
        env_python = str(env_dir / "bin" / "python")
        if packages:
            try:
                step.run(
                    [env_python, *PIP_INSTALL, *packages],
                    "ClientError: installing the framework packages failed",
                )
            except EnvironmentFailure as error:
                if details.get("framework"):
                    env_store.record_failure(
                        self.envs_dir, details, str(error)
                    )
                raise
        if (code_dir / REQUIREMENTS).is_file():
            step.run(
                [env_python, *PIP_INSTALL, "-r", REQUIREMENTS],
                "AlgorithmError: requirements.txt install failed",
            )
        env_store.write_marker(env_dir, details)


class _Step:
    """Run the commands that build an environment, one after another."""

    def __init__(self, code_dir, note, output, control):
        self.code_dir = code_dir
        self.note = note
        self.output = output
        self.control = control

    def run(self, argv, failure):
        """Run argv; raise EnvironmentFailure(failure: detail) if it fails."""
        self.note(" ".join(argv))
        result = run_process(
            argv, self.code_dir, _tool_env(), self.output, self.control
        )
        if self.control.reason is not None:
            raise StopRequested(self.control.reason)
        if result.returncode != 0:
            last = _last_error_line(result.stderr_tail)
            detail = last or f"exit code {result.exit_code}"
            raise EnvironmentFailure(f"{failure}: {detail}")


def _tool_env() -> dict[str, str]:
    env = host_variables()
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _last_error_line(lines: list[str]) -> str:
    for line in reversed(lines):
        if line.startswith("ERROR:"):
            return line
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return ""


class _locked:
    """Hold an exclusive flock, polling so a stop can interrupt the wait."""

    def __init__(self, path: Path, note, control: StopControl):
        self.path = path
        self.note = note
        self.control = control
        self.handle = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        waiting = False
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                pass
            if self.control.reason is not None:
                self.handle.close()
                raise StopRequested(self.control.reason)
            if not waiting:
                self.note("Waiting for another run to build this environment")
                waiting = True
            time.sleep(LOCK_POLL_SECONDS)

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def python_label(python: str) -> str:
    """Return "py3.11" for the interpreter at path python."""
    if python == sys.executable:
        return "py{}.{}".format(*sys.version_info[:2])
    match = re.search(r"python(3\.\d+)$", python)
    return f"py{match.group(1)}" if match else "py3"


def _details(spec, python, packages, requirements: Path) -> dict:
    return {
        "framework": spec.framework,
        "framework_version": spec.framework_version,
        "python": python_label(python),
        "packages": list(packages),
        "requirements": requirements.is_file(),
    }
