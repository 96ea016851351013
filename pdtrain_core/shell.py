"""The interactive pdtrain shell, built on cliff's cmd2 integration.

Only ``pdtrain`` without a command (or ``pdtrain shell``) imports this
module, because cmd2 and prompt_toolkit take longer to import than the
rest of pdtrain together.
"""

import logging
import os
import shlex
import sys
import urllib.parse

import cmd2
from cliff import interactive
from cmd2 import rich_utils
from cmd2.completion import Completions

from pdtrain_core import completion, config, terminal
from pdtrain_core.exitcodes import ExitCode

LOG = logging.getLogger(__name__)


class PdtrainShell(interactive.InteractiveApp):
    """cliff's interactive shell with pdtrain's prompt and completion.

    Every error prints one line and returns to the prompt; Ctrl-C
    cancels the running command, Ctrl-D and ``exit`` leave. With piped
    stdin each line runs as a command, and ``last_failure`` keeps the
    exit status of the last command that failed.
    """

    def __init__(
        self, parent_app, command_manager, stdin, stdout, errexit=False
    ):
        # NOTE: this repeats cliff's InteractiveApp.__init__ because that
        # one passes no history file, and nothing sets one later.
        self.parent_app = parent_app
        self.command_manager = command_manager
        self.errexit = errexit
        self.last_failure = int(ExitCode.SUCCESS)
        cmd2.Cmd.__init__(
            self,
            "tab",
            stdin=stdin,
            stdout=stdout,
            persistent_history_file=str(_private_history_file()),
            allow_cli_args=False,
        )
        if not terminal.colour_allowed(sys.stdout):
            self.allow_style = rich_utils.AllowStyle.NEVER
        # cmd2 4 sets its own prompt in __init__, so this comes after it.
        self.interactive = _interactive_input()
        self.prompt = _prompt(parent_app) if self.interactive else ""
        self._completer = completion.Completer(
            parent_app,
            completion.LiveValues(lambda: completion.client_for(parent_app)),
            shell=True,
        )

    @property
    def exit_status(self) -> int:
        """Return the status for leaving the shell.

        A terminal session ends with 0 unless output broke off; piped
        input ends with the status of the last command that failed, so
        `pdtrain < script.txt` fails in CI when a command failed.
        """
        if self.interactive and self.last_failure != ExitCode.BROKEN_PIPE:
            return int(ExitCode.SUCCESS)
        return self.last_failure

    def onecmd_plus_hooks(self, line, **kwargs):
        """Run one line, rejecting an unclosed quote with a usage error."""
        try:
            shlex.split(line)
        except ValueError as error:
            # cmd2 would print "Invalid syntax" with no hint and no status.
            LOG.error(
                "Invalid command line %r: %s; close the quote or escape "
                "it with a backslash",
                line.strip(),
                error,
            )
            self.last_failure = int(ExitCode.USAGE)
            return bool(self.errexit)
        redirector = self.statement_parser.parse(line).redirector
        if redirector:
            # Commands write to pdtrain's own stdout, which cmd2's
            # redirection does not capture: the file would stay empty.
            LOG.error(
                "%r does not work inside the pdtrain shell; run the "
                "command from your system shell, as `pdtrain run list "
                "%s ...`",
                redirector,
                redirector,
            )
            self.last_failure = int(ExitCode.USAGE)
            return bool(self.errexit)
        return super().onecmd_plus_hooks(line, **kwargs)

    def precmd(self, statement):
        """Find the pdtrain command a line names, keeping its quoting.

        cliff's own precmd joins the remaining words with spaces, so
        `--description "two words"` would reach the command as two words.
        """
        statement = cmd2.Cmd.precmd(self, statement)
        try:
            words = self._split_line(statement)
            _, name, rest = self.command_manager.find_command(words)
        except ValueError:  # an unclosed quote or not a pdtrain command
            return statement
        return cmd2.Statement(
            shlex.join(rest),
            raw=statement.raw,
            command=name,
            multiline_command=statement.multiline_command,
            terminator=statement.terminator,
            suffix=statement.suffix,
            redirector=statement.redirector,
            redirect_to=statement.redirect_to,
        )

    def do__eof(self, _):
        """Leave the shell at the end of input (Ctrl-D on a terminal)."""
        # Only a terminal needs a line break after its prompt; piped
        # output stays exactly what the commands printed.
        if self.interactive:
            self.poutput()
        return True

    def default(self, line):
        """Record a pdtrain command in the history, then run it."""
        # cmd2 4 records only its own do_* commands; every pdtrain
        # command reaches the shell through default().
        if hasattr(line, "raw"):
            self.history.append(line)
        try:
            code = self.parent_app.run_subcommand(self._split_line(line))
        except BrokenPipeError:
            # Whatever reads our output has gone (`pdtrain < f | head`):
            # stop quietly, as a one-shot command does.
            self.last_failure = int(ExitCode.BROKEN_PIPE)
            return True
        except KeyboardInterrupt:
            self.parent_app.stderr.write("Interrupted\n")
            code = int(ExitCode.INTERRUPTED)
        except ValueError as error:  # shlex: an unclosed quote
            LOG.error("Invalid command line %r: %s", str(line.raw), error)
            code = int(ExitCode.USAGE)
        if code:
            self.last_failure = code
        return bool(code) if self.errexit else None

    def do_help(self, arg):
        """Show the command groups, or help for one command."""
        if arg:
            return super().do_help(arg)
        try:
            self.parent_app.run_subcommand(["help"])
            self.parent_app.stdout.write(
                "\nshell commands: exit (or Ctrl-D), history, help COMMAND\n"
            )
        except BrokenPipeError:
            self.last_failure = int(ExitCode.BROKEN_PIPE)
            return True
        return None

    def complete(self, text, line, begidx, endidx, custom_settings=None):
        """Complete commands, options and live values from the server."""
        if custom_settings is not None:
            return super().complete(
                text, line, begidx, endidx, custom_settings
            )
        try:
            words = self._completer.complete_line(line[:endidx])
        except Exception as error:  # never break the prompt
            LOG.debug("Completion failed: %s", error, exc_info=True)
            return Completions()
        return Completions.from_values(words, is_sorted=True)


def _interactive_input() -> bool:
    return getattr(sys.stdin, "isatty", lambda: True)()


def _prompt(app) -> str:
    """Return "pdtrain default@127.0.0.1:8000> " for the current profile."""
    try:
        settings = app.settings
    except Exception as error:  # a broken config still gets a shell
        LOG.debug("No settings for the prompt: %s", error)
        return "pdtrain> "
    if settings.embedded:
        server = "local"
    else:
        server = urllib.parse.urlsplit(settings.api_url.value).netloc
    return f"pdtrain {settings.profile.value}@{server or '?'}> "


def _private_history_file():
    """Create the shell history file with mode 0600 and return its path.

    cmd2 rewrites the file at exit without changing its mode, so
    creating it first keeps typed commands private.
    """
    home = config.ensure_private_dir(config.home_dir())
    path = home / "history"
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, config.FILE_MODE))
    return path
