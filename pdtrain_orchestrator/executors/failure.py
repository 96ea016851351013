"""Turn a script's exit into output/success or output/failure and a reason."""

import shlex
from pathlib import Path

from .process import ProcessResult

# FailureReason on SageMaker is the first 1024 characters of the file.
REASON_CHARS = 1024
# Stderr lines quoted when no Python traceback names the error.
FALLBACK_LINES = 10


def record_success(output_dir: Path) -> None:
    """Write the empty success marker the toolkit writes."""
    (output_dir / "success").touch()


def record_failure(
    output_dir: Path, result: ProcessResult, argv: list[str]
) -> str:
    """Write output/failure unless the script did; return the reason."""
    path = output_dir / "failure"
    if path.is_file():
        text = path.read_text(errors="replace")
    else:
        text = summary(result, argv)
        path.write_text(text)
    return "AlgorithmError: " + text[:REASON_CHARS]


def summary(result: ProcessResult, argv: list[str]) -> str:
    """Describe a failed script as the toolkit's ExecuteUserScriptError."""
    message = "\n".join(error_lines(result.stderr_tail))
    return (
        "ExecuteUserScriptError:\n"
        f"ExitCode {result.exit_code}\n"
        f'ErrorMessage "{message}"\n'
        f'Command "{shlex.join(argv)}"\n'
    )


def error_lines(stderr_tail: list[str]) -> list[str]:
    """Return the exception lines of the last traceback, else the tail.

    A Python traceback indents its frames, so the unindented lines after
    the last "Traceback" header are the exception type and message.
    """
    start = None
    for index, line in enumerate(stderr_tail):
        if line.startswith("Traceback (most recent call last):"):
            start = index
    if start is not None:
        found = [
            line
            for line in stderr_tail[start + 1 :]
            if line and not line[0].isspace()
        ]
        if found:
            return found
    lines = [line for line in stderr_tail if line.strip()]
    return lines[-FALLBACK_LINES:]
