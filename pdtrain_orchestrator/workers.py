"""Settings from the command line and config file, and multi-worker serving.

With `workers` above 1, uvicorn's supervisor starts that many worker
processes on one listening socket. Each worker is a fresh interpreter
(multiprocessing's spawn), so it rebuilds its settings from the options
the parent puts in the PDTRAIN_ORCHESTRATOR_OPTIONS environment
variable. Which worker runs the jobs is decided by scheduler.py.
"""

import argparse
import json
import logging
import os
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from pdtrain_orchestrator import migrate
from pdtrain_orchestrator.db import make_engine
from pdtrain_orchestrator.server_config import ServerConfig, load_config
from pdtrain_orchestrator.settings import Settings

LOG = logging.getLogger(__name__)

OPTIONS_ENV = "PDTRAIN_ORCHESTRATOR_OPTIONS"
# Options of `serve` that a worker needs to build the same settings.
WORKER_OPTIONS = (
    "config",
    "home",
    "public_url",
    "max_concurrent",
    "stop_grace_seconds",
)


def default_home() -> Path:
    base = os.environ.get("PDTRAIN_HOME") or Path.home() / ".pdtrain"
    return Path(base) / "local"


def load_settings(args) -> tuple[Settings, ServerConfig]:
    """Return settings from the options, the config file and defaults.

    An option given on the command line wins over the config file.
    Raises server_config.ConfigError for an invalid file.
    """
    config = ServerConfig()
    if getattr(args, "config", None):
        config = load_config(args.config)
    home = args.home or config.home or default_home()
    settings = Settings(home=home)
    config.apply(settings)
    if getattr(args, "public_url", None):
        settings.public_url = args.public_url
    if getattr(args, "max_concurrent", None):
        settings.max_concurrent = args.max_concurrent
    if getattr(args, "stop_grace_seconds", None) is not None:
        settings.stop_grace_seconds = args.stop_grace_seconds
    return settings, config


def worker_app():
    """Build the app in a worker process (uvicorn's app factory)."""
    from pdtrain_orchestrator.app import create_app
    from pdtrain_orchestrator.cli import LOG_FILE, setup_logging

    options = json.loads(os.environ[OPTIONS_ENV])
    args = argparse.Namespace(**options)
    settings, _ = load_settings(args)
    settings.prepare()
    setup_logging(settings.home / LOG_FILE, options["log_level"])
    return create_app(settings)


def serve_workers(args, settings: Settings, sock, workers: int, started):
    """Run workers processes on sock until SIGTERM or SIGINT.

    The database is migrated here, once, before any worker starts.
    started() is called once the workers are launched.
    """
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()

    options = {name: getattr(args, name, None) for name in WORKER_OPTIONS}
    options["home"] = str(settings.home)
    options["log_level"] = args.log_level
    if options["config"]:
        options["config"] = str(Path(options["config"]).resolve())
    os.environ[OPTIONS_ENV] = json.dumps(options)
    config = uvicorn.Config(
        "pdtrain_orchestrator.workers:worker_app",
        factory=True,
        workers=workers,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    supervisor = Multiprocess(config, sockets=[sock])
    LOG.info("Starting %d worker processes", workers)
    supervisor.init_processes = _announce(supervisor.init_processes, started)
    supervisor.run()


def _announce(init_processes, started):
    def wrapped():
        init_processes()
        started()

    return wrapped


def describe(config: ServerConfig) -> str:
    """Return a one-line summary of the chosen backends for the log."""
    return (
        f"storage {config.storage_backend}, executor "
        f"{config.executor_backend}, {config.workers} worker(s)"
    )
