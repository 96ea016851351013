"""Parse and resolve bundle, dataset and run references.

A bundle or dataset reference is an id, ``name`` (latest),
``name:latest``, ``name:N`` or ``name:vN``. A run reference is an id, a
unique id prefix or a run name. Names are resolved through the list
endpoints, so this also works against servers that look things up only
by id.
"""

import dataclasses
import logging
import re

from pdtrain_core.exceptions import InvalidReference, NotFound

LOG = logging.getLogger(__name__)

LATEST = "latest"
_UUID = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    re.IGNORECASE,
)
_VERSION = re.compile(r"^v?(\d+)$", re.IGNORECASE)
_MAX_LISTED = 10
# The shortest run id prefix that is looked up, as in git.
MIN_ID_PREFIX = 4
_MAX_CANDIDATES = 5


@dataclasses.dataclass(frozen=True)
class Reference:
    """A parsed reference: a name with a version, or a bare token."""

    text: str
    name: str
    version: int | None  # None means the latest version

    @property
    def may_be_id(self) -> bool:
        """True when the text has no version and so may be an id."""
        return ":" not in self.text

    @property
    def looks_like_id(self) -> bool:
        """True when the text is a UUID, which no lookup by name needs."""
        return bool(_UUID.match(self.text))


def parse(text: str) -> Reference:
    """Parse "name", "name:latest", "name:3" or "name:v3"."""
    text = (text or "").strip()
    name, sep, version_text = text.partition(":")
    if not name:
        raise InvalidReference(
            f"Invalid reference {text!r}: expected NAME, NAME:VERSION or an id"
        )
    if not sep or version_text.lower() == LATEST:
        return Reference(text, name, None)
    match = _VERSION.match(version_text)
    if not match:
        raise InvalidReference(
            f"Invalid version {version_text!r} in {text!r}: use a number "
            "(3), v3 or latest"
        )
    return Reference(text, name, int(match.group(1)))


def _listing(values) -> str:
    values = sorted({str(v) for v in values}, key=_natural)
    text = ", ".join(values[:_MAX_LISTED])
    if len(values) > _MAX_LISTED:
        text += f" and {len(values) - _MAX_LISTED} more"
    return text or "none"


def _natural(text):
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def resolve_bundle(client, text: str) -> dict:
    """Return the bundle a reference names, raising InvalidReference."""
    ref = parse(text)
    if ref.looks_like_id:
        return _get_by_id(client.get_bundle, ref, "Bundle")
    candidates = client.list_bundles(name=ref.name)
    if not candidates:
        if ref.may_be_id:
            found = _try_id(client.get_bundle, ref.text)
            if found is not None:
                return found
        names = [b.get("name") for b in client.list_bundles()]
        raise InvalidReference(
            f"Bundle {ref.name!r} not found; bundles: {_listing(names)}"
        )
    bundle = _pick_version(candidates, ref, "Bundle")
    LOG.info(
        "%s resolved to bundle %s (version %s)",
        text,
        bundle["id"],
        bundle.get("version"),
    )
    return bundle


def _pick_version(candidates, ref, kind):
    versions = {int(c.get("version") or 0): c for c in candidates}
    if ref.version is None:
        return versions[max(versions)]
    if ref.version not in versions:
        raise InvalidReference(
            f"{kind} {ref.name!r} has no version {ref.version}; versions: "
            f"{_listing(versions)}"
        )
    return versions[ref.version]


def resolve_dataset(client, text: str) -> tuple[dict, int | None]:
    """Return (dataset, version) for a reference.

    The version is the dataset's current version when the reference
    names none.
    """
    ref = parse(text)
    if ref.looks_like_id:
        dataset = _get_by_id(client.get_dataset, ref, "Dataset")
        return dataset, dataset.get("current_version")
    matches = client.list_datasets(name=ref.name)
    if matches:
        # The list may be a summary; the object carries the version list.
        dataset = client.get_dataset(matches[0]["id"])
    else:
        # "ID" and "ID:N" name a dataset by id.
        dataset = _try_id(client.get_dataset, ref.name)
    if dataset is None:
        names = [d.get("name") for d in client.list_datasets()]
        raise InvalidReference(
            f"Dataset {ref.name!r} not found; datasets: {_listing(names)}"
        )
    version = _dataset_version(dataset, ref)
    LOG.info(
        "%s resolved to dataset %s version %s", text, dataset["id"], version
    )
    return dataset, version


def _dataset_version(dataset, ref):
    known = [v.get("version") for v in dataset.get("versions") or ()]
    if ref.version is None:
        return dataset.get("current_version") or (
            max(known) if known else None
        )
    if known and ref.version not in known:
        raise InvalidReference(
            f"Dataset {ref.name!r} has no version {ref.version}; "
            f"versions: {_listing(known)}"
        )
    return ref.version


def _get_by_id(getter, ref, kind):
    try:
        return getter(ref.text)
    except NotFound as error:
        raise InvalidReference(f"{kind} {ref.text!r} not found") from error


def _try_id(getter, text):
    try:
        return getter(text)
    except NotFound:
        return None


def resolve_run_id(client, text: str) -> str:
    """Return the id of the run that a reference names.

    The reference is a full run id, a run name (the newest run of that
    name wins, with a warning when there are several) or a unique prefix
    of at least MIN_ID_PREFIX characters of an id. A full id in lower
    case is used as is; in other case it is matched against the listed
    ids. A name wins over an id prefix. Text that matches nothing raises
    NotFound with a hint, unless the server has a run with that id.
    """
    text = (text or "").strip()
    if not text:
        raise InvalidReference(
            "Invalid run reference '': pass a run id, an id prefix or a "
            "run name (see `pdtrain run list`)"
        )
    if _UUID.match(text) and text == text.lower():
        return text
    if client.has("run_names"):
        named = client.list_runs(name=text)
        if named:
            return _newest_named(named, text)["id"]
    if len(text) >= MIN_ID_PREFIX:
        found = _by_id_prefix(client, text)
        if found is not None:
            return found
    return _existing_run_id(client, text)


def _existing_run_id(client, text):
    """Return text when it is a run id, else raise NotFound with a hint."""
    try:
        client.get_run(text)
    except NotFound as error:
        raise NotFound(
            error.status,
            f"Run {text!r} not found: no run has that id, id prefix or "
            f"name; `pdtrain run list` shows them (an id prefix needs at "
            f"least {MIN_ID_PREFIX} characters)",
            error.code,
        ) from None
    return text


def _newest_named(runs, name):
    newest = max(runs, key=lambda run: str(run.get("created_at") or ""))
    if len(runs) > 1:
        LOG.warning(
            "Run name %r matches %d runs; using the newest, %s (created "
            "%s); pass its id to pick another",
            name,
            len(runs),
            newest["id"],
            newest.get("created_at"),
        )
    else:
        LOG.info("Run name %r resolved to run %s", name, newest["id"])
    return newest


def _by_id_prefix(client, text):
    prefix = text.lower()
    found = [
        run
        for run in client.list_runs()
        if str(run.get("id", "")).lower().startswith(prefix)
    ]
    exact = [run for run in found if str(run["id"]).lower() == prefix]
    if exact:
        return exact[0]["id"]
    if not found:
        return None
    if len(found) == 1:
        LOG.info("Run id prefix %r resolved to run %s", text, found[0]["id"])
        return found[0]["id"]
    shown = ", ".join(
        f"{run['id']} ({run.get('name') or 'no name'})"
        for run in found[:_MAX_CANDIDATES]
    )
    more = len(found) - _MAX_CANDIDATES
    if more > 0:
        shown += f" and {more} more"
    raise InvalidReference(
        f"Run id prefix {text!r} is ambiguous: it matches {shown}; pass "
        "more characters of the id"
    )
