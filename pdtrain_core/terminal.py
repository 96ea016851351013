"""Terminal facts that decide how pdtrain writes: colour and encoding."""

import codecs
import os

# ANSI SGR sequences for the console's "Error:" and "Warning:" prefixes.
RED = "\033[31m"
YELLOW = "\033[33m"
RESET = "\033[0m"


def is_terminal(stream) -> bool:
    """True when stream is attached to a terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def colour_allowed(stream, environ=None) -> bool:
    """True when stream is a terminal and neither NO_COLOR nor TERM=dumb.

    NO_COLOR set to any non-empty value turns colour off
    (https://no-color.org).
    """
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def paint(text, colour, stream) -> str:
    """Wrap text in colour when stream allows colour, else return it."""
    if not colour_allowed(stream):
        return text
    return f"{colour}{text}{RESET}"


def ensure_unicode_output(*streams) -> None:
    """Let each stream write any Unicode character.

    Under the C or POSIX locale with locale coercion disabled, Python
    opens stdout as ASCII and raises UnicodeEncodeError on the first
    non-ASCII name. Pipes and files then get UTF-8; a terminal keeps
    its encoding and shows a replacement for what it cannot show.
    """
    for stream in streams:
        encoding = getattr(stream, "encoding", None)
        reconfigure = getattr(stream, "reconfigure", None)
        if not encoding or reconfigure is None:
            continue
        if codecs.lookup(encoding).name == "utf-8":
            continue
        if is_terminal(stream):
            reconfigure(errors="replace")
        else:
            reconfigure(encoding="utf-8")
