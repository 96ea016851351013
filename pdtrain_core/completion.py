"""Complete pdtrain command lines: commands, options and live values.

One engine serves the interactive shell and the bash and zsh scripts
that ``pdtrain complete`` prints. It reads each command's argparse
parser, so a plugin command completes like a built-in one. Values that
live on the server (run ids, bundle and dataset names) are fetched in a
background thread, kept for a few seconds, and never waited on for more
than ``FETCH_WAIT`` seconds: a slow server yields no candidates rather
than a frozen prompt.
"""

import logging
import shlex
import threading
import time

from pdtrain_core import config

LOG = logging.getLogger(__name__)

CACHE_SECONDS = 5.0  # how long fetched values are reused
FETCH_WAIT = 1.0  # seconds a completion waits for a fetch in progress
FETCH_TIMEOUT = 5.0  # HTTP timeout of a fetch, which may finish later
FETCH_LIMIT = 200  # newest items fetched per kind
SHELL_COMMANDS = ("exit", "quit", "history", "help")

# Arguments whose values come from the server or the config file, by
# the metavar pdtrain commands give them; plugins may reuse these.
VALUE_KINDS = {
    "<run-id>": "runs",
    "<bundle>": "bundles",
    "<dataset>": "datasets",
    "<[channel=]dataset>": "datasets",
    "<profile>": "profiles",
}


def split_line(line):
    """Split a partial command line into (complete words, prefix)."""
    try:
        words = shlex.split(line)
    except ValueError:
        # An open quote: complete the quoted word without its quote.
        words = shlex.split(line + '"')
    if not line or line[-1].isspace():
        return words, ""
    return words[:-1], words[-1] if words else ""


class LiveValues:
    """Names and ids from the server, cached for CACHE_SECONDS."""

    def __init__(self, client_factory, clock=time.monotonic):
        self._client_factory = client_factory
        self._clock = clock
        self._cache = {}
        self._threads = {}
        self._lock = threading.Lock()

    def get(self, kind, wait=FETCH_WAIT) -> list[str]:
        """Return values of kind, waiting at most wait seconds."""
        with self._lock:
            fetched_at, values = self._cache.get(kind, (None, []))
            if fetched_at is not None:
                if self._clock() - fetched_at < CACHE_SECONDS:
                    return values
            thread = self._threads.get(kind)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(
                    target=self._fetch, args=(kind,), daemon=True
                )
                self._threads[kind] = thread
                thread.start()
        thread.join(wait)
        with self._lock:
            return self._cache.get(kind, (None, values))[1]

    def _fetch(self, kind):
        try:
            client = self._client_factory()
            if client is None:
                return
            values = _FETCHERS[kind](client)
        except Exception as error:  # completion must never raise
            LOG.debug("Fetching %s for completion failed: %s", kind, error)
            return
        with self._lock:
            self._cache[kind] = (self._clock(), values)


def _run_refs(client):
    """Return run ids and run names, which every run command accepts."""
    found = client.list_runs(limit=FETCH_LIMIT)
    ids = [str(run["id"]) for run in found]
    return ids + _names(found)


def _names(items):
    return sorted({str(item["name"]) for item in items if item.get("name")})


def _bundle_refs(client):
    """Return bundle names and "name:N" for each listed version."""
    found = client.list_bundles(limit=FETCH_LIMIT)
    versions = {
        f"{item['name']}:{item['version']}"
        for item in found
        if item.get("name") and item.get("version") is not None
    }
    return _names(found) + sorted(versions)


def _dataset_refs(client):
    """Return dataset names and "name:N" for each of their versions."""
    found = client.list_datasets(limit=FETCH_LIMIT)
    versions = set()
    for item in found:
        numbers = [v.get("version") for v in item.get("versions") or ()]
        numbers.append(item.get("current_version"))
        versions.update(
            f"{item['name']}:{number}"
            for number in numbers
            if item.get("name") and number is not None
        )
    return _names(found) + sorted(versions)


_FETCHERS = {
    "runs": _run_refs,
    "bundles": _bundle_refs,
    "datasets": _dataset_refs,
}


def client_for(app):
    """Return a quick, non-retrying client, or None when none is running.

    Completion never starts the local orchestrator: that takes seconds.
    """
    from pdtrain_core.client import Client, make_session

    settings = app.settings
    url, key = settings.api_url.value, settings.api_key.value
    if settings.embedded:
        status = app.local_server.status()
        if not status.running:
            return None
        url, key = status.url, key or app.local_server.api_key()
    return Client(
        url, key, timeout=FETCH_TIMEOUT, session=make_session(retries=0)
    )


def profile_names() -> list[str]:
    """Return the profile names in the config file, or none."""
    try:
        data = config.ConfigFile(config.home_dir() / config.CONFIG_NAME).load()
    except Exception:  # a broken config must not break completion
        return []
    return sorted(data["profiles"])


class Completer:
    """Candidates for the word under the cursor of a pdtrain line."""

    def __init__(self, app, live_values, shell=False):
        """Build a completer; shell=True also offers exit and history."""
        self.app = app
        self.live_values = live_values
        self.shell = shell

    def complete_line(self, line) -> list[str]:
        """Return sorted candidates for the last word of line."""
        words, prefix = split_line(line)
        return sorted({word for word in self.complete(words, prefix) if word})

    def complete(self, words, prefix):
        """Return candidates that start with prefix after words."""
        manager = self.app.command_manager
        words = self._skip_global_options(words)
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size])
            if name in manager.commands:
                return self._complete_arguments(name, words[size:], prefix)
        if prefix.startswith("-"):
            return self._options(self.app.parser, prefix)
        return self._command_words(words, prefix)

    def _skip_global_options(self, words):
        """Drop leading global options and their values."""
        parser = self.app.parser
        index = 0
        while index < len(words) and words[index].startswith("-"):
            action = parser._option_string_actions.get(words[index])
            index += 1
            if action is not None and action.nargs != 0:
                index += 1
        return words[index:]

    def _command_words(self, words, prefix):
        size = len(words)
        names = [name.split(" ") for name in self.app.command_manager.commands]
        if not words and self.shell:
            names += [[name] for name in SHELL_COMMANDS]
        return [
            parts[size]
            for parts in names
            if parts[:size] == words
            and len(parts) > size
            and parts[size].startswith(prefix)
        ]

    def _complete_arguments(self, name, args, prefix):
        parser = self._parser_for(name)
        if parser is None:
            return []
        if prefix.startswith("-"):
            return self._options(parser, prefix)
        action = _action_for_next_word(parser, args)
        if action is None:
            return []
        channel = ""
        if action.metavar == "<[channel=]dataset>" and "=" in prefix:
            # "--dataset train=ir" completes the reference after "=".
            channel, _, prefix = prefix.partition("=")
            channel += "="
        return [
            channel + value
            for value in self._values(action)
            if value.startswith(prefix)
        ]

    def _parser_for(self, name):
        entry_point = self.app.command_manager.commands[name]
        try:
            factory = entry_point.load()
            return factory(self.app, None).get_parser(f"pdtrain {name}")
        except Exception as error:
            LOG.debug("No completion for %r: %s", name, error)
            return None

    @staticmethod
    def _options(parser, prefix):
        return [
            option
            for action in parser._actions
            if action.help != "==SUPPRESS=="
            for option in action.option_strings
            if option.startswith(prefix) and option.startswith("--")
        ]

    def _values(self, action):
        if action.choices:
            return [str(choice) for choice in action.choices]
        kind = VALUE_KINDS.get(action.metavar)
        if kind is None and action.dest == "profile":
            kind = "profiles"
        if kind == "profiles":
            return profile_names()
        if kind is None:
            return []
        return self.live_values.get(kind)


def _action_for_next_word(parser, args):
    """Return the argparse action that the next word would fill."""
    options = parser._option_string_actions
    if args and args[-1] in options and options[args[-1]].nargs != 0:
        return options[args[-1]]
    positionals = [
        action for action in parser._actions if not action.option_strings
    ]
    filled = 0
    skip_next = False
    for word in args:
        if skip_next:
            skip_next = False
        elif word in options:
            skip_next = options[word].nargs != 0
        elif not word.startswith("-"):
            filled += 1
    if filled < len(positionals):
        return positionals[filled]
    return None
