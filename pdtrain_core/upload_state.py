"""What an interrupted upload needs to resume, kept between runs.

One private JSON file per upload under ``$PDTRAIN_HOME/uploads``, named
by a hash of what identifies the upload (server, kind, name and the
file's size and modification time or sha256), so running the same
command again finds it and a changed file starts afresh.
"""

import hashlib
import json
import logging
from pathlib import Path

from pdtrain_core import config

LOG = logging.getLogger(__name__)

FOLDER = "uploads"


class UploadState:
    """Saved state of resumable uploads in one folder."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder or config.home_dir() / FOLDER)

    def _path(self, identity: dict) -> Path:
        text = json.dumps(identity, sort_keys=True)
        name = hashlib.sha256(text.encode()).hexdigest()[:32]
        return self.folder / f"{name}.json"

    def load(self, identity: dict) -> dict | None:
        """Return the saved state for identity, or None."""
        path = self._path(identity)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            LOG.warning("Ignoring unreadable upload state %s: %s", path, error)
            return None
        if data.get("identity") != identity:
            return None
        return data.get("state")

    def save(self, identity: dict, state: dict) -> None:
        """Store state for identity (file mode 0600)."""
        text = json.dumps({"identity": identity, "state": state})
        # The pdtrain home itself must be private too, not only this
        # folder inside it.
        config.ensure_private_dir(self.folder.parent)
        config.write_private_file(self._path(identity), text)

    def clear(self, identity: dict) -> None:
        """Forget identity's state once its upload is committed."""
        self._path(identity).unlink(missing_ok=True)
