"""Command line of the orchestrator: `serve` and `keys create`."""

import argparse
import datetime
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session

from pdtrain_orchestrator import db, keys
from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.models import Base
from pdtrain_orchestrator.settings import Settings

LOG = logging.getLogger(__name__)

STATE_FILE = "server.json"
LOG_FILE = "server.log"
BOOTSTRAP_OWNER = "local"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_home() -> Path:
    base = os.environ.get("PDTRAIN_HOME") or Path.home() / ".pdtrain"
    return Path(base) / "local"


def setup_logging(log_file: Path | None, level: str) -> None:
    """Send log records to stderr and, when given, to log_file."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=level.upper(), format=LOG_FORMAT, handlers=handlers, force=True
    )


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write text to a temporary file beside path, then rename it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode
    )
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def open_database(settings: Settings) -> Session:
    engine = db.make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    return db.make_sessionmaker(engine)()


def bootstrap_key(settings: Settings, key_file: Path) -> None:
    """Make sure key_file contains a key of the owner `local`.

    An existing file is reused and its key stored again if the database
    lost it; a missing file gets a new key with mode 0600.
    """
    with open_database(settings) as session:
        if key_file.exists():
            keys.add_key(
                session, BOOTSTRAP_OWNER, key_file.read_text().strip()
            )
            return
        key = keys.create_key(session, BOOTSTRAP_OWNER)
    write_atomically(key_file, key + "\n")
    LOG.info(
        "Wrote a new API key for owner %s to %s", BOOTSTRAP_OWNER, key_file
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port; port 0 picks a free port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class StateFileServer(uvicorn.Server):
    """A uvicorn server that writes its state file once it is serving."""

    def __init__(self, config: uvicorn.Config, state_path: Path, state: dict):
        super().__init__(config)
        self.state_path = state_path
        self.state = state

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            write_atomically(self.state_path, json.dumps(self.state))
            LOG.info("Serving on %s", self.state["url"])


def remove_state_file(path: Path) -> None:
    """Remove the state file if this process wrote it."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if state.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _exit_on_sigterm(signum, frame):
    # uvicorn raises the signal it caught again once it has shut down;
    # exiting normally here lets the state file be removed.
    raise SystemExit(0)


def serve(args) -> int:
    settings = Settings(home=args.home, public_url=args.public_url)
    if args.max_concurrent:
        settings.max_concurrent = args.max_concurrent
    settings.prepare()
    setup_logging(settings.home / LOG_FILE, args.log_level)
    if args.bootstrap_key_file:
        bootstrap_key(settings, settings.home / args.bootstrap_key_file)

    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    state = {
        "pid": os.getpid(),
        "url": f"http://{host}:{port}",
        "port": port,
        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    # The access log would write signed URLs, query string included.
    config = uvicorn.Config(
        create_app(settings), log_config=None, access_log=False, lifespan="on"
    )
    server = StateFileServer(config, settings.home / STATE_FILE, state)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run(sockets=[sock])
    finally:
        remove_state_file(settings.home / STATE_FILE)
        sock.close()
    return 0


def create_key(args) -> int:
    settings = Settings(home=args.home)
    settings.prepare()
    try:
        keys.check_owner(args.owner)
    except ValueError as error:
        LOG.error("%s", error)
        return 2
    with open_database(settings) as session:
        key = keys.create_key(session, args.owner)
    sys.stdout.write(key + "\n")
    return 0


def _add_serve_parser(commands) -> None:
    serve_parser = commands.add_parser("serve", help="run the HTTP server")
    serve_parser.add_argument(
        "--home",
        type=Path,
        default=default_home(),
        help="state folder (default: %(default)s)",
    )
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on"
    )
    serve_parser.add_argument(
        "--port", type=int, default=0, help="TCP port; 0 picks a free port"
    )
    serve_parser.add_argument(
        "--bootstrap-key-file",
        metavar="FILE",
        help="file under --home containing the key of owner 'local'; "
        "created"
        " with mode 0600 if missing",
    )
    serve_parser.add_argument(
        "--max-concurrent",
        type=int,
        help="maximum concurrent runs (default: CPU count)",
    )
    serve_parser.add_argument(
        "--public-url",
        help="base of signed URLs (default: the request's scheme and host)",
    )
    serve_parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
    )
    serve_parser.set_defaults(func=serve)


def _add_keys_parser(commands) -> None:
    keys_parser = commands.add_parser("keys", help="manage API keys")
    key_commands = keys_parser.add_subparsers(
        dest="keys_command", required=True
    )
    create = key_commands.add_parser(
        "create", help="create a key and print it"
    )
    create.add_argument("--owner", required=True, help="owner of the key")
    create.add_argument(
        "--home",
        type=Path,
        default=default_home(),
        help="state folder (default: %(default)s)",
    )
    create.set_defaults(func=create_key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdtrain-orchestrator",
        description="Reference orchestrator-api for pdtrain.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve_parser(commands)
    _add_keys_parser(commands)
    return parser


def main(argv=None) -> int:
    """Run the orchestrator command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.func is create_key:
        setup_logging(None, "warning")
    return args.func(args)
