"""Waiting for a run: progress on stderr, or an event stream for machines.

With ``-f ndjson`` the waiting commands write one JSON object per line:
``{"event": "status", ...}`` for each status change, ``{"event": "log",
...}`` for each log line when --logs is given, and last a ``{"event":
"summary", ...}`` object with the status, the exit status pdtrain
returns, the duration, the failure reason and the artifacts.
"""

import datetime
import json
import logging

from pdtrain_core import runs
from pdtrain_core.exceptions import WaitTimedOut
from pdtrain_core.exitcodes import ExitCode
from pdtrain_core.log_follower import LogFollower, LogQuery
from pdtrain_plugins.run_common import (
    DEFAULT_INTERVAL,
    LOGS_INTERVAL,
    check_wait_numbers,
    show_run,
)

LOG = logging.getLogger(__name__)

NDJSON = "ndjson"
_STATUS_EXIT = {
    "completed": ExitCode.SUCCESS,
    "failed": ExitCode.RUN_FAILED,
    "stopped": ExitCode.RUN_STOPPED,
}
SUMMARY_COLUMNS = (
    "event",
    "run_id",
    "status",
    "exit_code",
    "run_exit_code",
    "duration_seconds",
    "failure_reason",
    "artifacts",
)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def interrupted_note(run_id: str) -> str:
    """Return the message shown when Ctrl-C ends a wait."""
    return (
        f"Interrupted; run {run_id} keeps running. Stop it with "
        f"`pdtrain run stop {run_id} --yes`, or follow it again with "
        f"`pdtrain run watch {run_id}`"
    )


def make_retrier(command) -> runs.Retrier:
    """Return a Retrier that warns on stderr while the server is lost."""

    def lost(error):
        command.notice(
            f"Lost the orchestrator ({error}); retrying for up to "
            f"{runs.reconnect_seconds():g} s"
        )

    def back():
        command.notice("Reconnected to the orchestrator")

    return runs.Retrier(on_lost=lost, on_back=back)


class Waiting:
    """Mixin that waits for a run and records it for the exit status."""

    finished_run = None

    def _streaming(self, parsed_args) -> bool:
        return getattr(parsed_args, "formatter", None) == NDJSON

    def _write_object(self, value: dict) -> None:
        stdout = self.app.stdout
        stdout.write(json.dumps(value, default=str) + "\n")
        stdout.flush()

    def _on_change(self, parsed_args):
        if not self._streaming(parsed_args):
            return lambda run: self.notice(
                f"Run {run['id']}: {runs.describe(run)}"
            )

        def write_status(run):
            self._write_object(
                {
                    "event": "status",
                    "time": _now(),
                    "run_id": run.get("id"),
                    "status": run.get("status"),
                    "secondary_status": run.get("secondary_status"),
                    "status_message": run.get("status_message"),
                }
            )

        return write_status

    def _log_emitter(self, run_id, parsed_args):
        streaming = self._streaming(parsed_args)

        def emit(events):
            for event in events:
                if streaming:
                    self._write_object(dict(event, event="log", run_id=run_id))
                else:
                    self.app.stderr.write(f"{event.get('message', '')}\n")
            self.app.stderr.flush()

        return emit

    def wait(self, run, parsed_args):
        """Follow run until it ends; report progress; return the run."""
        check_wait_numbers(parsed_args)
        interval = parsed_args.interval
        logs = getattr(parsed_args, "logs", False)
        if interval is None:
            interval = LOGS_INTERVAL if logs else DEFAULT_INTERVAL
        follower = None
        if logs:
            follower = LogFollower(
                self.client,
                run["id"],
                self._log_emitter(run["id"], parsed_args),
                LogQuery(),
                use_cursor=self.client.has("log_cursor"),
                server_filters=self.client.has("log_filters"),
            )
        try:
            final = runs.watch(
                self.client,
                run["id"],
                interval=interval,
                timeout=parsed_args.timeout,
                on_change=self._on_change(parsed_args),
                follower=follower,
                retrier=make_retrier(self),
            )
        except KeyboardInterrupt as interrupt:
            self.notice(interrupted_note(run["id"]))
            if self._streaming(parsed_args):
                raise
            # As after a timeout, the run is still printed (as last
            # seen) so that a script keeps its id; the app exits 130.
            self.deferred_error = interrupt
            return run
        except WaitTimedOut as error:
            current = self.client.get_run(run["id"])
            if self._streaming(parsed_args):
                self._write_object(
                    self._summary(current, ExitCode.WAIT_TIMED_OUT)
                )
                raise
            # The run is still printed, so a script that reads its id
            # with -f value -c id gets it; the app exits 5 afterwards.
            self.deferred_error = error
            return current
        self.finished_run = final
        return final

    def _summary(self, run, code) -> dict:
        try:
            artifacts = [
                {
                    "name": item.get("name") or item.get("path"),
                    "size_bytes": item.get("size_bytes"),
                    "sha256": item.get("sha256"),
                }
                for item in self.client.list_artifacts(run["id"])
            ]
        except Exception as error:
            LOG.warning("Could not list the artifacts: %s", error)
            artifacts = None
        return {
            "event": "summary",
            "run_id": run.get("id"),
            "status": run.get("status"),
            "exit_code": int(code),
            "run_exit_code": run.get("exit_code"),
            "duration_seconds": run.get("runtime_seconds"),
            "failure_reason": run.get("failure_reason"),
            "artifacts": artifacts,
        }

    def result(self, run, parsed_args, waited: bool):
        """Return (columns, values): the run, or the summary with ndjson."""
        if not (waited and self._streaming(parsed_args)):
            return show_run(run)
        code = _STATUS_EXIT.get(run.get("status"), ExitCode.ERROR)
        summary = self._summary(run, code)
        return SUMMARY_COLUMNS, [summary[name] for name in SUMMARY_COLUMNS]
