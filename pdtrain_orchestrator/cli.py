"""Command line of the orchestrator: `serve`, `keys` and `db`."""

import argparse
import datetime
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session

from pdtrain_orchestrator import db, keys, migrate, workers
from pdtrain_orchestrator.app import create_app
from pdtrain_orchestrator.server_config import ConfigError
from pdtrain_orchestrator.settings import Settings

LOG = logging.getLogger(__name__)

STATE_FILE = "server.json"
LOG_FILE = "server.log"
BOOTSTRAP_OWNER = "local"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_HOST = "127.0.0.1"


def _same_file(stream, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False


def setup_logging(log_file: Path | None, level: str) -> None:
    """Send log records to stderr and, when given, to log_file.

    The embedded server's stderr is already log_file; writing to both
    would put every line in the file twice.
    """
    handlers: list[logging.Handler] = []
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file))
    if log_file is None or not _same_file(sys.stderr, log_file):
        handlers.append(logging.StreamHandler(sys.stderr))
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
    migrate.upgrade(engine)
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


def _listen_options(args, config) -> None:
    """Fill host, port, workers and log level: option, file, default."""
    args.host = args.host or config.host or DEFAULT_HOST
    args.port = args.port if args.port is not None else config.port or 0
    args.workers = args.workers or config.workers
    args.log_level = args.log_level or config.log_level or "info"


def serve(args) -> int:
    settings, config = workers.load_settings(args)
    _listen_options(args, config)
    settings.prepare()
    setup_logging(settings.home / LOG_FILE, args.log_level)
    LOG.info("Backends: %s", workers.describe(config))
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
    state_path = settings.home / STATE_FILE
    if args.workers > 1:
        try:
            workers.serve_workers(
                args,
                settings,
                sock,
                args.workers,
                lambda: write_atomically(state_path, json.dumps(state)),
            )
        finally:
            remove_state_file(state_path)
            sock.close()
        return 0
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
    settings, _ = workers.load_settings(args)
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


def list_keys(args) -> int:
    settings, _ = workers.load_settings(args)
    settings.prepare()
    with open_database(settings) as session:
        for row in keys.list_keys(session):
            created = row.created_at.isoformat() if row.created_at else ""
            sys.stdout.write(f"{row.id}\t{row.owner}\t{created}\n")
    return 0


def revoke_keys(args) -> int:
    if args.id is None and args.owner is None and not args.key_stdin:
        LOG.error("keys revoke: give --id, --owner or --key-stdin")
        return 2
    key = sys.stdin.readline().strip() if args.key_stdin else None
    settings, _ = workers.load_settings(args)
    settings.prepare()
    with open_database(settings) as session:
        count = keys.revoke(session, args.id, args.owner, key)
    if count == 0:
        LOG.error("keys revoke: no key matches; see `keys list`")
        return 1
    sys.stdout.write(f"Revoked {count} key(s)\n")
    return 0


def upgrade_database(args) -> int:
    settings, _ = workers.load_settings(args)
    settings.prepare()
    migrate.upgrade(db.make_engine(settings.database_url))
    sys.stdout.write(f"Database is at revision {migrate.head_revision()}\n")
    return 0


def write_revision(args) -> int:
    url = args.database_url
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(url or f"sqlite:///{folder}/compare.db")
        path = migrate.write_revision(engine, args.message)
        engine.dispose()
    if path is None:
        sys.stdout.write("models.py matches the migrations; nothing to do\n")
    else:
        sys.stdout.write(f"Wrote {path}; review it before committing\n")
    return 0


def _add_home_options(parser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="server config file (YAML): backends, database, limits",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="state folder (default: the config's home, else "
        f"{workers.default_home()})",
    )


def _add_serve_parser(commands) -> None:
    serve_parser = commands.add_parser("serve", help="run the HTTP server")
    _add_home_options(serve_parser)
    serve_parser.add_argument(
        "--host", help=f"address to listen on (default: {DEFAULT_HOST})"
    )
    serve_parser.add_argument(
        "--port", type=int, help="TCP port; 0 (the default) picks a free one"
    )
    serve_parser.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the port (default: 1)",
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
        "--stop-grace-seconds",
        type=float,
        help="seconds between SIGTERM and SIGKILL when a run is stopped "
        "(default: 30)",
    )
    serve_parser.add_argument(
        "--public-url",
        help="base of signed URLs (default: the request's scheme and host)",
    )
    serve_parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="default: info",
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
    _add_home_options(create)
    create.set_defaults(func=create_key)
    listing = key_commands.add_parser(
        "list", help="print id, owner and creation time of every key"
    )
    _add_home_options(listing)
    listing.set_defaults(func=list_keys)
    revoke = key_commands.add_parser(
        "revoke", help="delete keys so that they answer 401 from now on"
    )
    revoke.add_argument("--id", type=int, help="the key with this id")
    revoke.add_argument("--owner", help="every key of this owner")
    revoke.add_argument(
        "--key-stdin",
        action="store_true",
        help="the key read from the first line of stdin",
    )
    _add_home_options(revoke)
    revoke.set_defaults(func=revoke_keys)


def _add_db_parser(commands) -> None:
    db_parser = commands.add_parser("db", help="manage the database schema")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply the migrations the database lacks"
    )
    _add_home_options(upgrade)
    upgrade.set_defaults(func=upgrade_database)
    revision = db_commands.add_parser(
        "revision",
        help="write a migration for what models.py adds to the schema",
    )
    revision.add_argument(
        "-m", "--message", required=True, help="what the migration does"
    )
    revision.add_argument(
        "--database-url",
        help="database to compare against (default: a new SQLite file)",
    )
    revision.set_defaults(func=write_revision)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdtrain-orchestrator",
        description="Reference orchestrator-api for pdtrain.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve_parser(commands)
    _add_keys_parser(commands)
    _add_db_parser(commands)
    return parser


def main(argv=None) -> int:
    """Run the orchestrator command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.func is not serve:
        setup_logging(None, "warning")
    try:
        return args.func(args)
    except ConfigError as error:
        sys.stderr.write(f"{error}\n")
        return 2
