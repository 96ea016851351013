"""API keys: creation, hashing and lookup.

Only the sha256 of a key is stored, so a copy of the database reveals
no usable key.
"""

import hashlib
import hmac
import logging
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_orchestrator.models import ApiKey

LOG = logging.getLogger(__name__)

KEY_PREFIX = "pdt_"
# Owners name the first segment of object keys, so they stay path-safe.
OWNER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_owner(owner: str) -> str:
    """Return owner if it is a valid owner name, else raise ValueError."""
    if not OWNER_PATTERN.fullmatch(owner):
        raise ValueError(
            f"invalid owner {owner!r}: use 1 to 128 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit"
        )
    return owner


def add_key(session: Session, owner: str, key: str) -> None:
    """Store key for owner unless it is stored already."""
    digest = hash_key(key)
    found = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == digest))
    if found is None:
        session.add(ApiKey(key_sha256=digest, owner=check_owner(owner)))
        session.commit()
        LOG.info("Stored an API key for owner %s", owner)


def create_key(session: Session, owner: str) -> str:
    """Create, store and return a new key for owner."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    add_key(session, owner, key)
    return key


def owner_of(session: Session, key: str) -> str | None:
    """Return the owner of key, or None when the key is unknown."""
    digest = hash_key(key)
    found = session.scalar(select(ApiKey).where(ApiKey.key_sha256 == digest))
    # The lookup is by digest, so its timing reveals nothing about the
    # key; the constant-time compare keeps the final check free of it too.
    if found is None or not hmac.compare_digest(found.key_sha256, digest):
        return None
    return found.owner


def list_keys(session: Session) -> list[ApiKey]:
    """Return every stored key (digests only), oldest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(
    session: Session,
    key_id: int | None = None,
    owner: str | None = None,
    key: str | None = None,
) -> int:
    """Delete the keys matching key_id, owner or key; return how many.

    A revoked key answers 401 from the next request on.
    """
    query = select(ApiKey)
    if key_id is not None:
        query = query.where(ApiKey.id == key_id)
    if owner is not None:
        query = query.where(ApiKey.owner == owner)
    if key is not None:
        query = query.where(ApiKey.key_sha256 == hash_key(key))
    found = list(session.scalars(query))
    for row in found:
        session.delete(row)
    session.commit()
    LOG.info("Revoked %d API keys", len(found))
    return len(found)
