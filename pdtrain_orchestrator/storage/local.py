"""Filesystem object store with HMAC-signed, expiring URLs.

Objects live at `<root>/<key>`. A signed URL carries `expires` (epoch
seconds) and `signature`, the hex HMAC-SHA256 of the method, the key and
the expiry under the server's secret, so it needs no API key.
"""

import contextlib
import errno
import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from pdtrain_orchestrator.errors import (
    Forbidden,
    InsufficientStorage,
    Invalid,
    QuotaExceeded,
)
from pdtrain_orchestrator.storage import tmpfiles
from pdtrain_orchestrator.storage.multipart import (
    LocalMultipartMixin,
    write_in_pieces,
)

LOG = logging.getLogger(__name__)

MAX_KEY_LENGTH = 1024
OBJECTS_PATH = "/v1/objects"
# Objects are not in S3, so their URIs use this scheme instead of s3://.
LOCAL_URI_SCHEME = "local://"


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


# A full disk, a full quota and a file past RLIMIT_FSIZE.
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


@contextlib.contextmanager
def disk_errors() -> Iterator[None]:
    """Turn a full disk into InsufficientStorage (507) for the client."""
    try:
        yield
    except OSError as error:
        if error.errno not in _DISK_FULL_ERRNOS:
            raise
        LOG.error("Cannot store an upload: %s", error.strerror)
        raise InsufficientStorage(
            "the server is out of disk space; nothing was stored. Free "
            "space on the server (or delete datasets) and upload again"
        ) from None


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
        handle, name = tempfile.mkstemp(
            dir=tmp_dir, prefix=tmpfiles.prefix("upload")
        )
        self._path = Path(name)
        self._file = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise QuotaExceeded(
                f"object is larger than the limit of {self._max_bytes} bytes"
            )
        self._digest.update(chunk)
        with disk_errors():
            write_in_pieces(self._file, chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def commit(self) -> None:
        with disk_errors():
            self._file.close()
            self._target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path, self._target)

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalObjectStore(LocalMultipartMixin):
    """Objects on the local filesystem, reached through signed URLs."""

    def __init__(self, root: Path, secret: bytes):
        self.root = Path(root).resolve()
        self.tmp_dir = self.root.parent / "tmp"
        self._secret = secret

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmpfiles.remove_stale(self.tmp_dir)

    def path_for(self, key: str) -> Path:
        """Return the file of key; a key that leaves the root is Invalid."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise Invalid(f"object key {key!r} leaves the object store")
        return path

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def local_path(self, key: str) -> Path:
        """Return the file of key; S3ObjectStore returns None instead."""
        return self.path_for(key)

    @contextlib.contextmanager
    def fetch(self, key: str) -> Iterator[Path]:
        """Yield the file of key (S3ObjectStore yields a downloaded copy)."""
        yield self.path_for(key)

    def uri(self, key: str) -> str:
        return LOCAL_URI_SCHEME + key

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
