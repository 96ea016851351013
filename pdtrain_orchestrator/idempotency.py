"""Idempotency-Key handling for `POST /v1/runs`.

A client that sends the header may retry the request after a timeout or
a dropped connection: the first request that commits makes the run,
and every later request with the same key and body gets that run back.
The same key with another body is rejected, since returning the
first run would hide the client's mistake.
"""

import hashlib
import json
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pdtrain_orchestrator import lifecycle
from pdtrain_orchestrator.errors import Conflict, Invalid
from pdtrain_orchestrator.models import IdempotencyKey, Run

LOG = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def check_key(key: str) -> str:
    """Return key if it is 1 to 255 printable ASCII characters."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            f"invalid {HEADER} {key[:40]!r}: use 1 to {MAX_KEY_LENGTH} "
            "printable characters, such as a UUID"
        )
    if not key.isascii():
        raise Invalid(f"invalid {HEADER} {key[:40]!r}: use ASCII only")
    return key


def request_sha256(body: dict) -> str:
    """Return the sha256 of a request body in a canonical JSON form."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def earlier_run(
    session: Session, owner: str, key: str, digest: str
) -> Run | None:
    """Return the run an earlier request with key made, if any."""
    found = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.owner == owner, IdempotencyKey.key == key
        )
    )
    if found is None:
        return None
    if found.request_sha256 != digest:
        raise Conflict(
            f"{HEADER} {key!r} was used for a different request; send a "
            "new key for a new run"
        )
    return session.get(Run, found.run_id)


def save_run(
    session: Session, run: Run, owner: str, key: str | None, digest: str
) -> Run:
    """Commit run with its key; return the winner if another request won.

    Two requests with one key may race; the unique (owner, key)
    constraint lets exactly one commit, and the other returns its run.
    """
    session.add(run)
    session.flush()
    lifecycle.record(session, run)
    if key is None:
        session.commit()
        return run
    session.add(
        IdempotencyKey(
            owner=owner, key=key, request_sha256=digest, run_id=run.id
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        LOG.info(
            "Request with %s %r lost a race; returning the winner", HEADER, key
        )
        winner = earlier_run(session, owner, key, digest)
        if winner is None:
            raise
        return winner
    return run
