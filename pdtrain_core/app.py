"""The pdtrain cliff application: global options, logging, client, shell.

This module alone reads the global options, sets up logging, builds the
API client and turns exceptions and finished runs into exit statuses.
"""

import logging
import os
import re
import sys
import typing

from cliff import app

from pdtrain_core import __version__, config, plugins, spinner, terminal
from pdtrain_core.exceptions import (
    PdtrainError,
    RunFailed,
    RunStopped,
)
from pdtrain_core.exitcodes import ExitCode

# requests, cmd2 and the orchestrator are imported where they are first
# used, so `pdtrain --version` and one-shot commands start quickly.
if typing.TYPE_CHECKING:
    from pdtrain_core import embedded
    from pdtrain_core.client import Client

LOG = logging.getLogger(__name__)

DESCRIPTION = (
    "Upload training code and data, run training jobs, follow their logs "
    "and fetch their artifacts."
)
# Loggers that stay quiet unless --debug: cliff and stevedore log command
# discovery, urllib3 logs every connection.
_NOISY_LOGGERS = ("cliff", "stevedore", "urllib3", "requests")
_VERBOSITY_LEVELS = {0: logging.ERROR, 1: logging.WARNING, 2: logging.INFO}
_RUN_OUTCOMES = {"failed": RunFailed, "stopped": RunStopped}
_QUERY = re.compile(r"\?[^\s\"']*")


class _ConsoleFormatter(logging.Formatter):
    """Format console records as "Error: ..." and "Warning: ..." lines.

    The prefix is coloured only when the stream allows colour.
    """

    def __init__(self, fmt, stream):
        super().__init__(fmt)
        self.stream = stream

    def format(self, record):
        if isinstance(record.msg, BaseException) and not isinstance(
            record.msg, PdtrainError
        ):
            # An unexpected exception: name its type, since str() of a
            # KeyError alone is just the key.
            error = record.msg
            record.msg = f"{type(error).__name__}: {error}"
        text = super().format(record)
        if record.levelno >= logging.ERROR:
            prefix = terminal.paint("Error:", terminal.RED, self.stream)
            return f"{prefix} {text}"
        if record.levelno == logging.WARNING:
            prefix = terminal.paint("Warning:", terminal.YELLOW, self.stream)
            return f"{prefix} {text}"
        return text


class _RedactQueryFilter(logging.Filter):
    """Drop query strings from urllib3 records: they carry signatures."""

    def filter(self, record):
        if record.name.startswith("urllib3"):
            record.msg = _QUERY.sub("?<redacted>", record.getMessage())
            record.args = None
        return True


def _open_shell(parent_app, command_manager, stdin, stdout):
    """Build the interactive shell, importing cmd2 only now."""
    from pdtrain_core.shell import PdtrainShell

    return PdtrainShell(parent_app, command_manager, stdin, stdout)


class PdtrainApp(app.App):
    """The ``pdtrain`` command."""

    NAME = "pdtrain"
    LOG = logging.getLogger("pdtrain")
    LOG_FILE_MESSAGE_FORMAT = (
        "%(asctime)s %(levelname)-8s %(name)s %(message)s"
    )

    def __init__(self, stdin=None, stdout=None, stderr=None):
        super().__init__(
            description=DESCRIPTION,
            version=__version__,
            command_manager=plugins.CommandManager(plugins.NAMESPACE),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            interactive_app_factory=_open_shell,
            deferred_help=True,
        )
        self._settings = None
        self._client = None
        self._handlers = []
        self._exit_code = None

    def run(self, argv):
        """Run argv, or the interactive shell when argv has no command."""
        code = super().run(argv)
        # cliff returns 1 after the shell ends, even on a clean quit;
        # the shell keeps the status of the last command that failed.
        if self.interactive_mode and self.interpreter is not None:
            return self.interpreter.exit_status
        return code

    def initialize_app(self, argv):
        """Report plugin conflicts, now that logging is set up."""
        self.command_manager.report_conflicts()

    def print_help_if_requested(self):
        """Print the command groups for `pdtrain --help`, as `help` does.

        cliff's own listing imports every command to describe it.
        """
        if self.deferred_help and self.options.deferred_help:
            raise SystemExit(self.run_subcommand(["help"]))

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(
            description, version, argparse_kwargs
        )
        parser.add_argument(
            "--api-url",
            metavar="<url>",
            help="orchestrator-api base URL (env PDTRAIN_API_URL); "
            "without one pdtrain starts a local orchestrator",
        )
        parser.add_argument(
            "--api-key",
            metavar="<key>",
            help="API key (env PDTRAIN_API_KEY)",
        )
        parser.add_argument(
            "--profile",
            metavar="<name>",
            help="configuration profile to use (env PDTRAIN_PROFILE)",
        )
        return parser

    # -- logging -------------------------------------------------------

    def configure_logging(self):
        """Send records to stderr at the chosen level, all to --log-file.

        -q shows errors only, the default warnings, -v info, -vv and
        --debug everything; only --debug adds tracebacks and lets
        cliff, stevedore and urllib3 log.
        """
        root = logging.getLogger()
        root.setLevel(logging.DEBUG)
        for handler in self._handlers:
            root.removeHandler(handler)
        self._handlers = [self._console_handler()]
        if self.options.log_file:
            handler = logging.FileHandler(self.options.log_file)
            handler.setFormatter(
                logging.Formatter(self.LOG_FILE_MESSAGE_FORMAT)
            )
            handler.setLevel(logging.DEBUG)
            self._handlers.append(handler)
        for handler in self._handlers:
            handler.addFilter(_RedactQueryFilter())
            root.addHandler(handler)
        noisy_level = logging.DEBUG if self.options.debug else logging.ERROR
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(noisy_level)

    def _console_handler(self):
        level = _VERBOSITY_LEVELS.get(
            self.options.verbose_level, logging.DEBUG
        )
        if self.options.debug:
            level = logging.DEBUG
        handler = logging.StreamHandler(self.stderr)
        handler.setLevel(level)
        handler.setFormatter(
            _ConsoleFormatter(self.CONSOLE_MESSAGE_FORMAT, self.stderr)
        )
        handler.addFilter(spinner.HideSpinnerFilter())
        return handler

    # -- settings and client -------------------------------------------

    @property
    def settings(self) -> config.Settings:
        """Return the resolved settings (option > env > profile)."""
        if self._settings is None:
            self._settings = config.resolve(
                api_url=self.options.api_url,
                api_key=self.options.api_key,
                profile=self.options.profile,
            )
        return self._settings

    @property
    def local_server(self) -> "embedded.LocalServer":
        """Return the embedded orchestrator under PDTRAIN_HOME."""
        from pdtrain_core import embedded

        return embedded.LocalServer(config.home_dir())

    @property
    def client(self) -> "Client":
        """Return the API client, starting the local server if needed."""
        if self._client is None:
            self._client = self._make_client()
            quiet = self.options.verbose_level == 0
            if spinner.allowed(self.stderr, quiet=quiet):
                self._client.on_request = spinner.RequestSpinner(self.stderr)
        return self._client

    def _make_client(self) -> "Client":
        from pdtrain_core.client import Client

        settings = self.settings
        if not settings.embedded:
            LOG.debug(
                "Using %s from %s",
                settings.api_url.value,
                settings.api_url.source,
            )
            return Client(settings.api_url.value, settings.api_key.value)
        server = self.local_server
        status, started = server.ensure()
        if started:
            self.stderr.write(
                f"Started the local orchestrator at {status.url} "
                f"(logs: {status.log_path})\n"
            )
        key = settings.api_key.value or server.api_key()
        return Client(status.url, key)

    def forget_client(self):
        """Drop the cached settings and client, e.g. after configure."""
        self._settings = None
        self._client = None

    # -- running commands ----------------------------------------------

    def run_subcommand(self, argv):
        """Run one command and return its exit status."""
        try:
            self.command_manager.find_command(argv)
        except ValueError:
            return self._unknown_command(argv)
        except plugins.PluginLoadError as error:
            LOG.error(error)
            return int(error.exit_code)
        self._exit_code = None
        result = super().run_subcommand(argv)
        if self._exit_code is not None:
            return int(self._exit_code)
        return result

    def _unknown_command(self, argv):
        # cliff writes its suggestions to stdout, which carries results.
        words = " ".join(argv)
        group = sorted(
            name
            for name in self.command_manager.commands
            if name.startswith(words + " ")
        )
        if group:
            LOG.error(
                "%r needs a subcommand: %s (see `pdtrain help %s`)",
                words,
                ", ".join(group),
                words,
            )
            return int(ExitCode.USAGE)
        matches = self.get_fuzzy_matches(argv[0])
        hint = "; did you mean: " + ", ".join(matches) if matches else ""
        LOG.error("Unknown command %r%s (see `pdtrain help`)", words, hint)
        return int(ExitCode.USAGE)

    def clean_up(self, cmd, result, err):
        """Turn the command's error or finished run into an exit status."""
        if err is not None:
            self._exit_code = exit_code_for(err)
            return
        deferred = getattr(cmd, "deferred_error", None)
        if deferred is not None:
            # The command printed its result before failing. An
            # interrupt has printed its own note already.
            if not isinstance(deferred, KeyboardInterrupt):
                self.LOG.error(deferred)
            self._exit_code = exit_code_for(deferred)
            return
        run = getattr(cmd, "finished_run", None)
        outcome = _RUN_OUTCOMES.get((run or {}).get("status"))
        if outcome is not None:
            # A command that printed the logs itself needs no pointer.
            error = outcome(run, not getattr(cmd, "printed_logs", False))
            self.LOG.error(error)
            self._exit_code = error.exit_code


def exit_code_for(error: BaseException) -> ExitCode:
    """Return the exit status for an exception a command raised."""
    if isinstance(error, PdtrainError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, BrokenPipeError):
        return ExitCode.BROKEN_PIPE
    return ExitCode.ERROR


def _silence_stdout():
    """Point stdout at /dev/null so exit does not flush into a dead pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv=None) -> int:
    """Run pdtrain with argv (default: sys.argv) and return the status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    terminal.ensure_unicode_output(sys.stdout, sys.stderr)
    pdtrain = PdtrainApp()
    try:
        code = pdtrain.run(argv)
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        code = ExitCode.BROKEN_PIPE
    if code == ExitCode.BROKEN_PIPE:
        _silence_stdout()
    return int(code)
