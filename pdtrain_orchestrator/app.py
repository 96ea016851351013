"""Build the orchestrator-api application from settings."""

import contextlib
import logging
from collections.abc import Callable

from fastapi import FastAPI

from pdtrain_core import __version__
from pdtrain_orchestrator import backends, db, errors, migrate
from pdtrain_orchestrator.api import (
    artifacts,
    bundles,
    datasets,
    envs,
    logs,
    meta,
    multipart,
    objects,
    runs,
    storage,
)
from pdtrain_orchestrator.run_events import DatabaseRunEvents
from pdtrain_orchestrator.scheduler import LeaderLock, Scheduler
from pdtrain_orchestrator.settings import Settings

LOG = logging.getLogger(__name__)

ROUTERS = (
    meta,
    storage,
    multipart,
    objects,
    bundles,
    datasets,
    runs,
    logs,
    artifacts,
    envs,
)


def local_executor(settings: Settings, events):
    """Build the local subprocess executor (the default)."""
    from pdtrain_orchestrator.executors.local import LocalExecutor

    return LocalExecutor(
        work_dir=settings.runs_dir,
        envs_dir=settings.envs_dir,
        events=events,
        max_concurrent=settings.max_concurrent,
        stop_grace_seconds=settings.stop_grace_seconds,
    )


class StripTrailingSlash:
    """Serve every path with and without a trailing slash.

    The slash is removed before routing, so `/v1/runs/` reaches the same
    route as `/v1/runs` without a redirect (a redirected POST would lose
    its body in many clients).
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and len(scope["path"]) > 1:
            if scope["path"].endswith("/"):
                scope = dict(scope)
                scope["path"] = scope["path"].rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def _lifespan(executor_factory: Callable):
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state = app.state
        migrate.upgrade(state.engine)
        events = DatabaseRunEvents(state.sessionmaker, state.store)
        state.executor = executor_factory(state.settings, events)
        # The scheduler recovers unfinished runs once this process leads.
        state.scheduler = Scheduler(
            state.sessionmaker,
            state.executor,
            state.settings,
            state.store,
            LeaderLock(state.engine, state.settings.home),
        )
        state.scheduler.start()
        LOG.info("Orchestrator started with home %s", state.settings.home)
        try:
            yield
        finally:
            state.scheduler.shutdown()
            state.engine.dispose()
            LOG.info("Orchestrator stopped")

    return lifespan


def create_app(
    settings: Settings, executor_factory: Callable | None = None
) -> FastAPI:
    """Build the FastAPI app; the database and executor start with it.

    executor_factory(settings, events) returns the executor; the default
    is the one settings.executor_backend names.
    """
    settings.prepare()
    executor_factory = (
        executor_factory
        or backends.executor_factory(settings)
        or local_executor
    )
    app = FastAPI(
        title="pdtrain orchestrator-api",
        version=__version__,
        lifespan=_lifespan(executor_factory),
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.database_url)
    app.state.sessionmaker = db.make_sessionmaker(app.state.engine)
    app.state.store = backends.make_store(settings)
    app.state.store.prepare()
    errors.install_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    app.add_middleware(StripTrailingSlash)
    return app
