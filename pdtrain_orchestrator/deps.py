"""Annotated dependencies that routes declare to get what they need."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from pdtrain_orchestrator import keys
from pdtrain_orchestrator.db import get_session
from pdtrain_orchestrator.errors import Unauthorized
from pdtrain_orchestrator.settings import Settings
from pdtrain_orchestrator.storage.local import LocalObjectStore

SessionDep = Annotated[Session, Depends(get_session)]


def get_owner(request: Request, session: SessionDep) -> str:
    """Return the owner of the request's `Authorization: Bearer` key."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <api key>'"
        )
    owner = keys.owner_of(session, key.strip())
    if owner is None:
        raise Unauthorized("invalid API key")
    return owner


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> LocalObjectStore:
    return request.app.state.store


def get_base_url(request: Request) -> str:
    """Return the base of signed URLs: the configured one or the request's."""
    configured = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


OwnerDep = Annotated[str, Depends(get_owner)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[LocalObjectStore, Depends(get_store)]
BaseUrlDep = Annotated[str, Depends(get_base_url)]

# Upper bound on one page of any list.
MAX_PAGE = 1000
LimitDep = Annotated[int, Query(ge=1, le=MAX_PAGE)]
# SQLite and PostgreSQL take a signed 64-bit OFFSET.
OffsetDep = Annotated[int, Query(ge=0, le=2**63 - 1)]
# Versions count from 1 and are stored in 32-bit Integer columns.
MAX_VERSION = 2**31 - 1
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION)]
VersionQuery = Annotated[int | None, Query(ge=1, le=MAX_VERSION)]
