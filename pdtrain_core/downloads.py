"""Resumable, verified download of one file.

Bytes go to a partial file beside the target, named after the expected
sha256 (or size), so running the same command again after Ctrl-C or a
dropped connection continues where it stopped with an HTTP Range
request. The file is renamed into place only when its size and sha256
match. After a mismatch the partial file is deleted, so nothing is left
at the target.
"""

import http.client
import logging
import os
import uuid
from pathlib import Path

import requests

from pdtrain_core.exceptions import TransferError, UsageError
from pdtrain_core.hashing import ThreadedSha256
from pdtrain_core.retry import Attempts

LOG = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".pdtrain-partial"
# requests reads the body in pieces of this size; 64 to 256 KiB kept up
# with curl on loopback, 1 MiB was less than half as fast.
CHUNK_SIZE = 128 * 1024
HASH_BLOCK = 1024 * 1024
HASH_BATCH = 2 * 1024 * 1024
# Bytes per write call at most. Appending 2 GiB to the page cache (Linux 6.18,
# two-core VM, os.write) cost about 0.45 s of system time in 256 KiB
# calls, 0.9 s in 16 KiB calls and 1.7 to 2.3 s in 1 MiB calls.
WRITE_PIECE = 256 * 1024
_CUT_OFF_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class _Restart(Exception):
    """The server ignored the Range request; start from byte 0."""


class Download:
    """One download of url into target (see the module docstring)."""

    def __init__(
        self, url, target, expected_sha256, expected_size, progress=None
    ):
        self.url = url
        self.target = Path(target)
        self.name = self.target.name
        self.expected_sha256 = (expected_sha256 or "").lower() or None
        self.expected_size = (
            None if expected_size is None else int(expected_size)
        )
        self.progress = progress or (lambda count: None)
        # Without a sha256 or size a partial file cannot be matched to
        # the object on a later run, so it is not kept.
        self.resumable = bool(self.expected_sha256) or (
            self.expected_size is not None
        )
        self.partial = self._partial_path()
        self.digest = ThreadedSha256()
        self.offset = 0

    def _partial_path(self) -> Path:
        if self.expected_sha256:
            tag = self.expected_sha256[:16]
        elif self.expected_size is not None:
            tag = f"size{self.expected_size}"
        else:
            tag = uuid.uuid4().hex[:16]
        return self.target.with_name(f".{self.name}.{tag}{PARTIAL_SUFFIX}")

    def run(self, fetch) -> str:
        """Download with fetch(headers) -> response; return the sha256."""
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale_partials()
        try:
            with open(self.partial, "a+b", buffering=0) as out:
                self._resume(out)
                self._receive(out, fetch)
            self._verify()
        except TransferError as error:
            if not self.resumable or getattr(error, "discard", False):
                self.partial.unlink(missing_ok=True)
                raise
            raise TransferError(
                f"{error}; the first {self.offset} bytes are kept, so the "
                "same command resumes the download"
            ) from error
        except BaseException:
            if not self.resumable:
                self.partial.unlink(missing_ok=True)
            raise
        finally:
            self.digest.close()
        os.replace(self.partial, self.target)
        return self.digest.hexdigest()

    def _remove_stale_partials(self) -> None:
        pattern = f".{self.name}.*{PARTIAL_SUFFIX}"
        for path in self.target.parent.glob(pattern):
            if path != self.partial:
                path.unlink(missing_ok=True)

    def _resume(self, out) -> None:
        """Hash what an earlier run left in the partial file."""
        out.seek(0)
        while block := out.read(HASH_BLOCK):
            self.digest.update(block)
            self.offset += len(block)
        if self.offset:
            LOG.info("Resuming %s at byte %d", self.name, self.offset)
            self.progress(self.offset)

    def _restart(self, out) -> None:
        out.seek(0)
        out.truncate()
        self.progress(-self.offset)
        self.digest.close()
        self.digest = ThreadedSha256()
        self.offset = 0

    def _receive(self, out, fetch) -> None:
        attempts = Attempts("GET", self.url, self.name)
        while True:
            headers = {"Range": f"bytes={self.offset}-"} if self.offset else {}
            with fetch(headers) as response:
                if response.status_code == 416:
                    self._check_complete()
                    return
                try:
                    self._check_start(response)
                    self._copy(response, out)
                except _Restart:
                    self._restart(out)
                    continue
                except (_CutOff, *_CUT_OFF_ERRORS) as error:
                    attempts.failed(
                        f"the body was cut off at byte {self.offset}",
                        error=error,
                    )
                    continue
            if self.expected_size is not None:
                if self.offset < self.expected_size:
                    attempts.failed(
                        f"the body ended at byte {self.offset} of "
                        f"{self.expected_size}"
                    )
                    continue
            return

    def _check_start(self, response) -> None:
        if not self.offset:
            return
        start = _range_start(response.headers.get("Content-Range"))
        if response.status_code != 206 or start != self.offset:
            LOG.warning(
                "The server ignored the range request for %s; starting "
                "again from byte 0",
                self.name,
            )
            raise _Restart()

    def _copy(self, response, out) -> None:
        """Append the body to out, hashing it in the digest's thread."""
        stream = _http_stream(response)
        if stream is None:
            self._copy_chunks(response, out)
            return
        while True:
            buffer = self.digest.take()
            filled = _fill(stream, buffer)
            if filled:
                # The file is open for appending: writes land at offset.
                write_in_pieces(out, memoryview(buffer)[:filled])
                self.digest.submit(buffer, filled)
                self.offset += filled
                self.progress(filled)
            else:
                self.digest.give_back(buffer)
            if filled < len(buffer):
                break
        if getattr(stream, "length", None):
            raise _CutOff(f"{stream.length} bytes of the body are missing")

    def _copy_chunks(self, response, out) -> None:
        batch, batched = [], 0
        try:
            for chunk in response.iter_content(CHUNK_SIZE):
                write_in_pieces(out, memoryview(chunk))
                batch.append(chunk)
                batched += len(chunk)
                self.offset += len(chunk)
                if batched >= HASH_BATCH:
                    self.digest.update_many(batch)
                    self.progress(batched)
                    batch, batched = [], 0
        finally:
            self.digest.update_many(batch)
            self.progress(batched)

    def _check_complete(self) -> None:
        """Handle 416: the partial file already has every byte, or not."""
        if self.expected_size is not None and (
            self.offset == self.expected_size
        ):
            return
        expected = self.expected_size
        raise _discard(
            f"Download of {self.name} failed: the server has no bytes "
            f"after byte {self.offset}, expected {expected} bytes in all; "
            "nothing was saved"
        )

    def _verify(self) -> None:
        size, expected = self.offset, self.expected_size
        if expected is not None and size != expected:
            raise _discard(
                f"Download of {self.name} got {size} bytes, expected "
                f"{expected}; nothing was saved"
            )
        digest = self.digest.hexdigest()
        if self.expected_sha256 and digest != self.expected_sha256:
            raise _discard(
                f"Download of {self.name} has sha256 {digest}, expected "
                f"{self.expected_sha256}; nothing was saved, retry the "
                "download"
            )


def write_in_pieces(out, view: memoryview) -> None:
    """Write view to the unbuffered file out in WRITE_PIECE slices."""
    for start in range(0, len(view), WRITE_PIECE):
        out.write(view[start : start + WRITE_PIECE])


class _CutOff(Exception):
    """The connection ended before the whole body arrived."""


def _http_stream(response):
    """Return the http.client response under requests', or None.

    Reading it directly skips urllib3's copy of every block. It also
    skips content decoding, which is right here: the sha256 is of the
    stored bytes, even when a server labels them gzip-encoded.
    """
    stream = getattr(response.raw, "_fp", None)
    return stream if hasattr(stream, "readinto") else None


def _fill(stream, buffer: bytearray) -> int:
    """Read into buffer until it is full or the body ends."""
    view = memoryview(buffer)
    filled = 0
    try:
        while filled < len(buffer):
            count = stream.readinto(view[filled:])
            if not count:
                break
            filled += count
    except (OSError, http.client.HTTPException) as error:
        raise _CutOff(str(error) or type(error).__name__) from error
    return filled


def _discard(message: str) -> TransferError:
    """Return an error after which the partial file is deleted."""
    error = TransferError(message)
    error.discard = True
    return error


def _range_start(header: str | None) -> int | None:
    """Return the first byte of a `Content-Range: bytes a-b/n` header."""
    if not header or not header.startswith("bytes "):
        return None
    first = header[len("bytes ") :].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def prepare_output(output: Path, value) -> None:
    """Create the --output directory or raise UsageError naming value.

    value is what the user typed (or the default), so the error names
    it rather than a resolved or temporary path.
    """
    if output.exists() and not output.is_dir():
        raise UsageError(
            f"Invalid --output {value!r}: it is a file, not a directory; "
            "choose another --output"
        )
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"Invalid --output {value!r}: cannot create it "
            f"({error.strerror}); choose another --output"
        ) from error
    if not os.access(output, os.W_OK | os.X_OK):
        raise UsageError(
            f"Invalid --output {value!r}: it is not writable; choose "
            "another --output"
        )


def check_targets(output: Path, names, force: bool) -> None:
    """Raise UsageError if writing names under output would clash.

    An existing file is replaced only with force. A directory in the
    place of a file, or a file in the place of a directory, is never
    replaced. Every name is checked before anything is written.
    """
    for name in names:
        target = output / name
        for parent in reversed(target.relative_to(output).parents[:-1]):
            path = output / parent
            if path.exists() and not path.is_dir():
                raise UsageError(
                    f"{path} already exists and is not a directory; "
                    "choose another --output"
                )
        if target.is_dir():
            raise UsageError(
                f"{target} already exists and is a directory; choose "
                "another --output"
            )
        if (target.exists() or target.is_symlink()) and not force:
            raise UsageError(
                f"{target} already exists; choose another --output or "
                "pass --force"
            )
