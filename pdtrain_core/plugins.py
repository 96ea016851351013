"""Find pdtrain's commands, including those that other packages add.

A package adds commands through the ``pdtrain.commands`` entry-point
group: the entry-point name is the command with spaces written as
underscores (``run_summary`` becomes ``pdtrain run summary``), and the
value is a cliff command class. Formatters use cliff's own groups,
``cliff.formatter.list`` and ``cliff.formatter.show``.

Entry points are listed through stevedore's cache, which scans the
installed distributions at most once per process, and a command's
module is imported only when that command runs or help describes it.
So a plugin that fails to import only affects its own commands: running
one prints one error naming the plugin, and ``pdtrain help`` prints one
warning for it and lists the rest.
"""

import logging

import stevedore
from cliff import commandmanager

from pdtrain_core.exceptions import PdtrainError

LOG = logging.getLogger(__name__)

NAMESPACE = "pdtrain.commands"
BUILTIN_MODULE_PREFIX = "pdtrain_plugins."


class PluginLoadError(PdtrainError):
    """A command's plugin module or class could not be imported."""


class _ListOnlyManager(stevedore.ExtensionManager):
    """An ExtensionManager that lists entry points without importing."""

    def _load_plugins(self, invoke_on_load, invoke_args, invoke_kwds):
        return []


def list_entry_points(namespace):
    """Return the entry points of namespace without importing them."""
    return _ListOnlyManager(namespace).list_entry_points()


class LazyEntryPoint:
    """An entry point whose load() names the plugin when it fails."""

    def __init__(self, entry_point, command_name):
        self.entry_point = entry_point
        self.name = command_name
        self.value = entry_point.value

    @property
    def builtin(self) -> bool:
        """True for the commands that ship with pdtrain itself."""
        return self.value.startswith(BUILTIN_MODULE_PREFIX)

    def load(self):
        """Import and return the command class."""
        try:
            return self.entry_point.load()
        except Exception as error:
            LOG.debug("Loading %s failed", self.value, exc_info=True)
            raise PluginLoadError(
                f"Command plugin {self.name!r} ({self.value}) failed to "
                f"load: {type(error).__name__}: {error}; reinstall or "
                "uninstall the package that provides it"
            ) from error


class CommandManager(commandmanager.CommandManager):
    """Command table built from entry points, importing nothing early.

    When two entry points claim one command, a warning names both and
    the command that ships with pdtrain wins; between two third-party
    commands the first one listed wins.
    """

    conflicts: list

    def load_commands(self, namespace):
        """Register every command of namespace without importing it."""
        if not hasattr(self, "conflicts"):
            self.conflicts = []
        self.group_list.append(namespace)
        for entry_point in list_entry_points(namespace):
            name = entry_point.name
            if self.convert_underscores:
                name = name.replace("_", " ")
            self._register(name, LazyEntryPoint(entry_point, name))

    def _register(self, name, candidate):
        current = self.commands.get(name)
        if current is None:
            self.commands[name] = candidate
            return
        if current.value == candidate.value:
            return  # the same distribution seen twice on sys.path
        keep = current
        if candidate.builtin and not getattr(current, "builtin", True):
            keep = candidate
        other = candidate if keep is current else current
        # Reported by the app once logging is set up (see report_conflicts).
        self.conflicts.append((name, keep.value, other.value))
        self.commands[name] = keep

    def report_conflicts(self):
        """Log one warning for each command that two plugins claim."""
        for name, kept, other in self.conflicts:
            LOG.warning(
                "Command %r is claimed by both %s and %s; using %s",
                name,
                kept,
                other,
                kept,
            )

    def add_command(self, name, command_class):
        """Add a command unless an entry point already provides it.

        cliff's App adds its own ``help`` and ``complete``; pdtrain's
        entry points of those names replace them.
        """
        if isinstance(self.commands.get(name), LazyEntryPoint):
            return
        super().add_command(name, command_class)

    def group_names(self) -> list[str]:
        """Return the sorted first words of all commands."""
        return sorted({name.split(" ")[0] for name in self.commands})
