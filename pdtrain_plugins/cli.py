"""Commands about the CLI itself: help, shell completion, the shell."""

import logging
import textwrap

from pdtrain_core import command, completion
from pdtrain_core.exceptions import UsageError

LOG = logging.getLogger(__name__)

# One-line descriptions of pdtrain's own command groups; a plugin's
# group is listed with its commands only.
GROUPS = {
    "artifacts": "list and download the files a run produced",
    "bundle": "upload and inspect training code archives",
    "complete": "print a bash or zsh completion script",
    "configure": "save the API URL and key in a profile",
    "dataset": "upload, inspect, download and delete datasets",
    "help": "show help for a command or a group",
    "info": "show the version and where each setting comes from",
    "logs": "print or follow a run's log",
    "profile": "list, select and delete profiles",
    "quota": "show storage used against the account's limits",
    "run": "create, submit, watch and stop training runs",
    "server": "start, stop and inspect the local orchestrator",
    "shell": "open the interactive shell",
}

BASH_SCRIPT = """\
# pdtrain completion for bash
_pdtrain_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(%(prog)s complete --line "${COMP_LINE:0:COMP_POINT}" \\
        2>/dev/null))
}
complete -o default -F _pdtrain_complete %(prog)s
"""

# compinit autoloads a file named _pdtrain on $fpath as the function
# _pdtrain, so the file's body must complete at once. Sourced after
# compinit, the script registers the function instead.
ZSH_SCRIPT = """\
#compdef %(prog)s
# pdtrain completion for zsh
_pdtrain() {
    local line="${(j: :)${(@)words[1,CURRENT]}}"
    local -a candidates
    candidates=("${(@f)$(%(prog)s complete --line "$line" 2>/dev/null)}")
    compadd -- ${candidates:#}
}
if [[ "${funcstack[1]}" == _pdtrain ]]; then
    _pdtrain "$@"
else
    compdef _pdtrain %(prog)s
fi
"""

SCRIPTS = {"bash": BASH_SCRIPT, "zsh": ZSH_SCRIPT}


class ShowHelp(command.Command):
    """Show the command groups, a group's commands or one command's help.

    Listing groups imports no command, so it works even when a plugin
    is broken.
    """

    examples = (
        "pdtrain help",
        "pdtrain help run",
        "pdtrain help run create",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "words",
            metavar="<command>",
            nargs="*",
            help="a group (run) or a command (run create)",
        )
        return parser

    def take_action(self, parsed_args):
        words = parsed_args.words
        if not words:
            self._print_groups()
            return 0
        manager = self.app.command_manager
        name = " ".join(words)
        if name in manager.commands:
            factory = manager.commands[name].load()
            prog = name if self.app.interactive_mode else f"pdtrain {name}"
            factory(self.app, None).get_parser(prog).print_help(
                self.app.stdout
            )
            return 0
        members = sorted(n for n in manager.commands if n.startswith(name))
        if not members:
            raise UsageError(
                f"Unknown command or group {name!r}; run `pdtrain help` "
                "for the list"
            )
        self._print_members(members)
        return 0

    def _print_groups(self):
        out = self.app.stdout
        if self.app.interpreter is None:  # global options, not in the shell
            out.write(self.app.parser.format_help())
        out.write("\ncommand groups (`pdtrain help GROUP` lists one):\n")
        commands = list(self.app.command_manager.commands)
        for group in self.app.command_manager.group_names():
            subcommands = sorted(
                name.split(" ", 1)[1]
                for name in commands
                if name.startswith(group + " ")
            )
            about = GROUPS.get(group, "")
            if subcommands:
                listed = "commands: " + ", ".join(subcommands)
                about = f"{about}; {listed}" if about else listed
            lines = textwrap.wrap(about, 56) or [""]
            out.write(f"  {group:<12}{lines[0]}\n")
            for line in lines[1:]:
                out.write(f"  {'':<12}{line}\n")

    def _print_members(self, members):
        out = self.app.stdout
        for name in members:
            try:
                factory = self.app.command_manager.commands[name].load()
                summary = factory(self.app, None).get_description()
            except Exception as error:  # one broken plugin, not all help
                LOG.warning("%s", error)
                continue
            first_line = summary.strip().splitlines()[0] if summary else ""
            out.write(f"  {name:<22}{first_line}\n")


class PrintCompletion(command.Command):
    """Print a shell completion script, or the candidates for a line.

    The script completes commands, options and values that live on the
    server, such as run ids and dataset names. It calls `pdtrain
    complete --line` on each Tab; that prints one candidate per line.
    """

    examples = (
        "pdtrain complete --shell bash > ~/.pdtrain-completion.bash",
        "pdtrain complete --shell zsh > ~/.zfunc/_pdtrain",
    )

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--shell",
            metavar="<shell>",
            choices=sorted(SCRIPTS),
            default="bash",
            help="shell to print a script for: bash or zsh (default bash)",
        )
        parser.add_argument(
            "--line",
            metavar="<text>",
            help="print candidates for the last word of this partial "
            "command line instead of a script (used by the scripts)",
        )
        return parser

    def take_action(self, parsed_args):
        out = self.app.stdout
        if parsed_args.line is None:
            out.write(SCRIPTS[parsed_args.shell] % {"prog": "pdtrain"})
            return 0
        line = parsed_args.line
        # The scripts pass the whole line, starting with the program.
        words, _ = completion.split_line(line)
        if words and words[0].endswith("pdtrain"):
            line = line.lstrip()[len(words[0]) :].lstrip()
        completer = completion.Completer(
            self.app,
            completion.LiveValues(lambda: completion.client_for(self.app)),
        )
        for candidate in completer.complete_line(line):
            out.write(candidate + "\n")
        return 0


class OpenShell(command.Command):
    """Open the interactive shell (the same as `pdtrain` alone).

    Tab completes commands, options, run ids and names; history is kept
    in $PDTRAIN_HOME/history. Piped input runs one command per line and
    exits with the status of the last command that failed.
    """

    examples = (
        "pdtrain shell",
        "pdtrain --profile staging shell",
        "pdtrain < commands.txt",
    )

    def take_action(self, parsed_args):
        self.app.interactive_mode = True
        self.app.interact()
        return self.app.interpreter.exit_status
