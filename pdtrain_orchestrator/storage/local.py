"""Filesystem object store with HMAC-signed, expiring URLs.

Objects live at `<root>/<key>`. A signed URL carries `expires` (epoch
seconds) and `signature`, the hex HMAC-SHA256 of the method, the key and
the expiry under the server's secret, so it needs no API key.
"""

import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

from pdtrain_orchestrator.errors import Forbidden, Invalid, QuotaExceeded

LOG = logging.getLogger(__name__)

MAX_KEY_LENGTH = 1024
OBJECTS_PATH = "/v1/objects"


def check_key(key: str) -> str:
    """Return key if it is a safe relative object key, else raise Invalid."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"object key {key!r} is empty or too long")
    if "\\" in key or "\x00" in key:
        raise Invalid(f"object key {key!r} contains a backslash or NUL")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise Invalid(
                f"object key {key!r} has an empty, '.' or '..' segment"
            )
    return key


class ObjectWriter:
    """Stream one object into a temporary file and move it into place.

    Nothing appears at the key until `commit`; `abort` removes the
    temporary file. More than max_bytes raises QuotaExceeded.
    """

    def __init__(self, target: Path, tmp_dir: Path, max_bytes: int):
        self._target = target
        self._max_bytes = max_bytes
        self.size = 0
        self._digest = hashlib.sha256()
        handle, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self._path = Path(name)
        self._file = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise QuotaExceeded(
                f"object is larger than the limit of {self._max_bytes} bytes"
            )
        self._digest.update(chunk)
        self._file.write(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def commit(self) -> None:
        self._file.close()
        self._target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path, self._target)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalObjectStore:
    """Objects on the local filesystem, reached through signed URLs."""

    def __init__(self, root: Path, secret: bytes):
        self.root = Path(root).resolve()
        self.tmp_dir = self.root.parent / "tmp"
        self._secret = secret

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """Return the file of key; a key that leaves the root is Invalid."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise Invalid(f"object key {key!r} leaves the object store")
        return path

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        return self.path_for(key).stat().st_size

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        path.unlink(missing_ok=True)
        self._remove_empty_parents(path.parent)

    def _remove_empty_parents(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def writer(self, key: str, max_bytes: int) -> ObjectWriter:
        return ObjectWriter(self.path_for(key), self.tmp_dir, max_bytes)

    def store_file(self, source: Path, key: str) -> None:
        """Hard-link source at key, copying when a link is impossible."""
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)

    def signature(self, method: str, key: str, expires: int) -> str:
        message = f"{method.upper()}\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, method: str, key: str, expires, signature) -> None:
        """Raise Forbidden unless signature is valid and unexpired."""
        try:
            expiry = int(expires)
        except (TypeError, ValueError):
            raise Forbidden("signed URL has no valid expires") from None
        expected = self.signature(method, key, expiry)
        if not hmac.compare_digest(expected, str(signature or "")):
            raise Forbidden(f"signature does not match {method} {key}")
        if expiry < time.time():
            raise Forbidden("signed URL has expired; request a new one")

    def signed_url(
        self, base: str, method: str, key: str, expires_in: int
    ) -> str:
        """Return a URL under base that allows method on key."""
        expires = int(time.time()) + expires_in
        query = urllib.parse.urlencode(
            {
                "expires": expires,
                "signature": self.signature(method, key, expires),
            }
        )
        path = urllib.parse.quote(key, safe="/")
        return f"{base.rstrip('/')}{OBJECTS_PATH}/{path}?{query}"

    def presigned_post(
        self,
        base: str,
        key: str,
        expires_in: int,
        content_type: str | None = None,
    ) -> dict:
        """Return an S3-style presigned POST {url, fields} for key."""
        expires = int(time.time()) + expires_in
        fields = {
            "key": key,
            "expires": str(expires),
            "signature": self.signature("POST", key, expires),
        }
        if content_type:
            fields["Content-Type"] = content_type
        return {"url": f"{base.rstrip('/')}{OBJECTS_PATH}", "fields": fields}
