"""Typed command bases that every pdtrain command derives from.

They give commands ``self.client`` (the lazily built API client of the
running app) and keep cliff's ``Lister`` and ``ShowOne`` behaviour, so
``-f``, ``-c`` and ``--sort-column`` work on every list and show command.
"""

import typing

from cliff import command, lister, show

if typing.TYPE_CHECKING:
    from pdtrain_core.app import PdtrainApp
    from pdtrain_core.client import Client


class _ClientMixin:
    """Access to the app's API client and standard streams."""

    app: "PdtrainApp"

    @property
    def client(self) -> "Client":
        """Return the API client, starting the local server if needed."""
        return self.app.client

    def notice(self, message: str) -> None:
        """Write one line that every user must see to stderr."""
        self.app.stderr.write(message + "\n")
        self.app.stderr.flush()


class Command(_ClientMixin, command.Command):
    """A command that returns an exit status instead of a table."""


class Lister(_ClientMixin, lister.Lister):
    """A command that returns ``(columns, rows)``."""


class ShowOne(_ClientMixin, show.ShowOne):
    """A command that returns ``(columns, values)`` for one object."""
