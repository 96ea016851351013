"""Record a real pdtrain session as docs/session.cast and docs/session.svg.

Runs a short session against the embedded orchestrator in a temporary
PDTRAIN_HOME: upload the digits data and a framework-free bundle, train
with `run create --wait`, print the log and list the artifacts. Each
command runs in a pseudo-terminal of WIDTH x HEIGHT, so pdtrain writes
what it writes on a real terminal, and every chunk of output is stored
with the time it arrived (asciicast v2). The SVG is the last frame of
that output, rendered by the pyte terminal emulator and rich.

Usage: python docs/record_session.py   (needs `pip install -e '.[docs]'`)
"""

# A command-line script reports what it wrote on stdout.
# ruff: noqa: T201

import io
import json
import os
import pty
import select
import shlex
import struct
import subprocess
import sys
import tempfile
import termios
import time
from fcntl import ioctl
from pathlib import Path

import pyte
from rich.console import Console
from rich.style import Style
from rich.text import Text

WIDTH, HEIGHT = 120, 32
REPO = Path(__file__).resolve().parents[1]
PROMPT = "\x1b[1;32m$\x1b[0m "
# Seconds between one command's end and the next prompt, for the reader.
PAUSE = 1.0
# The recorded commands; {run_id} is the run that the session created.
SESSION = (
    "pdtrain dataset upload examples/digits/data/digits.csv --name digits"
    " -c name -c version -c row_count -c column_count",
    "pdtrain bundle upload examples/ci/centroid --name digits-centroid"
    " --wait -c name -c version -c validation_status",
    "pdtrain run create --bundle digits-centroid --dataset digits"
    " --name digits-demo --submit --wait -c id -c status",
    "pdtrain logs {run_id}",
    "pdtrain artifacts list {run_id} -c path -c size_bytes -c sha256",
)


class Recorder:
    """Runs commands in a pseudo-terminal and keeps timed output events."""

    def __init__(self, env):
        self.env = env
        self.events = []
        self.started = time.monotonic()

    def emit(self, text):
        elapsed = round(time.monotonic() - self.started, 6)
        self.events.append([elapsed, "o", text])

    def run(self, *args):
        """Show a prompt and args, run them, record output; return status."""
        self.emit(PROMPT + shlex.join(args) + "\r\n")
        leader, follower = pty.openpty()
        ioctl(
            follower,
            termios.TIOCSWINSZ,
            struct.pack("HHHH", HEIGHT, WIDTH, 0, 0),
        )
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env=self.env,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            close_fds=True,
        )
        os.close(follower)
        self._drain(leader)
        os.close(leader)
        status = process.wait()
        time.sleep(PAUSE)
        return status

    def _drain(self, leader):
        """Record the pty's output until every writer has closed it."""
        while True:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command and its children exited
                return
            if not chunk:
                return
            self.emit(chunk.decode("utf-8", errors="replace"))


def session_env(home):
    """Return the environment of a fresh user with no server configured."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PDTRAIN_") and name != "NO_COLOR"
    }
    env.update(
        PDTRAIN_HOME=str(home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        TERM="xterm-256color",
        COLUMNS=str(WIDTH),
        LINES=str(HEIGHT),
    )
    return env


def latest_run_id(env):
    """Return the id of the newest run, read outside the recording."""
    result = subprocess.run(
        ["pdtrain", "run", "list", "-f", "value", "-c", "id", "--limit", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()[0]


def record(recorder):
    """Run the session's commands, stopping at the first failure."""
    run_id = None
    for line in SESSION:
        if "{run_id}" in line and run_id is None:
            run_id = latest_run_id(recorder.env)
        args = shlex.split(line.format(run_id=run_id))
        if recorder.run(*args) != 0:
            sys.exit(f"{line} failed")
    recorder.emit(PROMPT)


def write_cast(recorder, path):
    header = {
        "version": 2,
        "width": WIDTH,
        "height": HEIGHT,
        "timestamp": int(time.time()),
        "idle_time_limit": 2.0,
        "title": "pdtrain: upload, train, logs, artifacts",
        "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
    }
    lines = [json.dumps(header)]
    lines += [
        json.dumps(event, ensure_ascii=False) for event in recorder.events
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _style(char):
    """Translate one pyte cell's attributes into a rich Style."""
    color = char.fg
    if color == "default":
        color = None
    elif color == "brown":  # pyte's name for ANSI yellow
        color = "yellow"
    elif color.startswith("bright"):
        color = "bright_" + color[len("bright") :].replace("brown", "yellow")
    elif len(color) == 6:
        color = "#" + color
    return Style(color=color, bold=char.bold)


def screen_text(output):
    """Return the final screen of output as styled rich Text."""
    screen = pyte.Screen(WIDTH, 1000)
    pyte.Stream(screen).feed(
        output.replace("\n", "\r\n").replace("\r\r", "\r")
    )
    rows = []
    for number in range(screen.lines):
        line = screen.buffer[number]
        text = Text()
        for column in range(WIDTH):
            char = line[column]
            text.append(char.data, _style(char))
        text.rstrip()
        rows.append(text)
    while rows and not rows[-1].plain:
        rows.pop()
    return Text("\n").join(rows)


def write_svg(recorder, path):
    output = "".join(event[2] for event in recorder.events)
    console = Console(record=True, width=WIDTH, file=io.StringIO())
    console.print(screen_text(output), soft_wrap=True)
    console.save_svg(str(path), title="pdtrain session")


def main():
    with tempfile.TemporaryDirectory(prefix="pdtrain-session-") as home:
        recorder = Recorder(session_env(Path(home)))
        try:
            record(recorder)
        finally:
            subprocess.run(
                ["pdtrain", "server", "stop", "--yes"],
                env=recorder.env,
                capture_output=True,
            )
    write_cast(recorder, REPO / "docs" / "session.cast")
    write_svg(recorder, REPO / "docs" / "session.svg")
    print("wrote docs/session.cast and docs/session.svg")


if __name__ == "__main__":
    main()
