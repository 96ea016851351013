"""Which owners may see a cached environment, and which runs use it.

Environments live under one directory shared by every owner, but an
environment built from a bundle's requirements.txt tells of that
bundle: its id is a hash of the requirements text, and its size and
times tell when the owner trained. So:

- framework-only environments and failed framework installs are a
  server-wide cache, listed to every owner;
- an environment built with a requirements.txt is listed only to the
  owners whose runs used it;
- no owner may delete an environment that an active run of any owner
  uses.

A run uses an environment when the executor logged "Built environment
<id>" or "Reusing cached environment <id>" for it. Such notes come from
the executor with no byte offset; lines a training script prints carry
one (see executors/process.py), so a script cannot claim an
environment by printing the same text.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from pdtrain_orchestrator.executors.process import NOTE_PREFIX, NOTE_STREAM
from pdtrain_orchestrator.models import ACTIVE_STATUSES, LogEvent, Run

NOTE_TEXTS = ("Built environment ", "Reusing cached environment ")


def _note_messages(env_id: str) -> list[str]:
    return [NOTE_PREFIX + text + env_id for text in NOTE_TEXTS]


def _users(session: Session, env_id: str):
    """Return a query of the runs whose executor notes name env_id."""
    return (
        select(Run.id, Run.owner, Run.status)
        .join(LogEvent, LogEvent.run_id == Run.id)
        .where(
            LogEvent.stream == NOTE_STREAM,
            LogEvent.source_offset.is_(None),
            LogEvent.message.in_(_note_messages(env_id)),
        )
        .distinct()
    )


def used_by_owner(session: Session, env_id: str, owner: str) -> bool:
    """Return True when a run of owner used the environment."""
    query = _users(session, env_id).where(Run.owner == owner).limit(1)
    return session.execute(query).first() is not None


def active_users(session: Session, env_id: str) -> list[tuple[str, str]]:
    """Return (run id, owner) of the active runs using the environment."""
    query = _users(session, env_id).where(Run.status.in_(ACTIVE_STATUSES))
    return [(row.id, row.owner) for row in session.execute(query)]


def is_shared(item: dict) -> bool:
    """Return True for an environment every owner may see."""
    return item["status"] == "failed" or not item["requirements"]


def visible(session: Session, owner: str, items: list[dict]) -> list[dict]:
    """Return the environments of items that owner may see."""
    private = [item["id"] for item in items if not is_shared(item)]
    if not private:
        return items
    messages = [m for env_id in private for m in _note_messages(env_id)]
    used = set(
        session.scalars(
            select(LogEvent.message)
            .join(Run, LogEvent.run_id == Run.id)
            .where(
                Run.owner == owner,
                LogEvent.stream == NOTE_STREAM,
                LogEvent.source_offset.is_(None),
                LogEvent.message.in_(messages),
            )
        )
    )
    return [
        item
        for item in items
        if is_shared(item)
        or any(m in used for m in _note_messages(item["id"]))
    ]
