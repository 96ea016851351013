"""Receive an S3-style presigned POST without holding the file in memory.

The form fields (`key`, `expires`, `signature` and any others) must come
before the `file` part, as S3 requires. The signature is checked when the
file part starts, and the file is then streamed into the object store.
Fields after the file part are ignored, as S3 does.
"""

import logging
from collections.abc import AsyncIterator, Callable

from python_multipart.multipart import MultipartParser, parse_options_header

from pdtrain_orchestrator.errors import Invalid
from pdtrain_orchestrator.storage.local import LocalObjectStore, ObjectWriter

LOG = logging.getLogger(__name__)

# Form fields are short strings; a larger one is a malformed request.
MAX_FIELD_BYTES = 64 * 1024


class PresignedPostReceiver:
    """Parse one multipart/form-data body and store its file part.

    limit_for(key) gives the largest object accepted under key.
    """

    def __init__(
        self, store: LocalObjectStore, limit_for: Callable[[str], int]
    ):
        self.store = store
        self.limit_for = limit_for
        self.fields: dict[str, str] = {}
        self.key: str | None = None
        self.size = 0
        self._writer: ObjectWriter | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._part_name: str | None = None
        self._part_value = bytearray()
        self._in_file = False
        self._done = False

    def _callbacks(self) -> dict:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    async def receive(
        self, content_type: str, chunks: AsyncIterator[bytes]
    ) -> str:
        """Consume the body and return the key of the stored object."""
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise Invalid("presigned POST needs a multipart/form-data body")
        parser = MultipartParser(boundary, self._callbacks())
        try:
            async for chunk in chunks:
                if chunk:
                    parser.write(chunk)
            parser.finalize()
        finally:
            if self._writer is not None and not self._done:
                self._writer.abort()
        if not self._done:
            raise Invalid("presigned POST has no complete 'file' part")
        return self.key

    def _on_part_begin(self) -> None:
        self._headers = {}
        self._part_name = None
        self._part_value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part_name = name
        if name == "file" and not self._done:
            self._start_file()

    def _start_file(self) -> None:
        key = self.fields.get("key", "")
        self.store.verify(
            "POST",
            key,
            self.fields.get("expires"),
            self.fields.get("signature"),
        )
        self.key = key
        self._writer = self.store.writer(key, self.limit_for(key))
        self._in_file = True

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._writer.write(data[start:end])
            return
        self._part_value += data[start:end]
        if len(self._part_value) > MAX_FIELD_BYTES:
            raise Invalid(
                f"form field {self._part_name!r} is over "
                f"{MAX_FIELD_BYTES} bytes"
            )

    def _on_part_end(self) -> None:
        if self._in_file:
            self._writer.commit()
            self.size = self._writer.size
            self._in_file = False
            self._done = True
        elif self._part_name and not self._done:
            value = self._part_value.decode("utf-8", "replace")
            self.fields[self._part_name] = value
