"""Object store in an S3 bucket, reached through S3's own presigned URLs.

Clients send and fetch bytes straight to and from S3: presigned PUT for
bundles, presigned POST for dataset files, presigned GET for downloads
and artifacts. The orchestrator reads an object itself only to check it
at finalize (size from HeadObject, sha256 and content from a download
into a temporary file).
"""

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from pdtrain_orchestrator.aws import error_code, make_client
from pdtrain_orchestrator.backend_settings import S3Settings
from pdtrain_orchestrator.errors import Forbidden, Invalid, NotFound
from pdtrain_orchestrator.storage.local import check_key
from pdtrain_orchestrator.storage.s3_multipart import S3MultipartMixin

LOG = logging.getLogger(__name__)

MISSING_CODES = ("404", "NoSuchKey", "NotFound")
CHUNK_BYTES = 1024 * 1024
# S3 limits one presigned POST to 5 GB; larger files need multipart.
MAX_POST_BYTES = 5 * 1024**3
NOT_SERVED = (
    "this server keeps objects in S3; use the presigned S3 URL that the "
    "presign endpoint returned"
)


class S3ObjectStore(S3MultipartMixin):
    """Objects under a prefix of one S3 bucket.

    limit_for(key) gives the largest object accepted under key; presigned
    POSTs carry it as a content-length-range condition, so S3 itself
    rejects a larger file.
    """

    def __init__(
        self,
        settings: S3Settings,
        tmp_dir: Path,
        limit_for: Callable[[str], int],
        client=None,
    ):
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.tmp_dir = Path(tmp_dir)
        self._limit_for = limit_for
        self.client = client or make_client(
            "s3",
            settings.region,
            settings.endpoint_url,
            settings.addressing_style,
        )

    def prepare(self) -> None:
        """Create the temporary folder and check that the bucket exists."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as error:
            raise RuntimeError(
                f"S3 bucket {self.bucket!r} cannot be reached "
                f"({error_code(error) or error}); create it or fix "
                "storage.bucket, storage.region and the AWS credentials"
            ) from error
        LOG.info("Object store: s3://%s/%s", self.bucket, self.prefix)

    def object_name(self, key: str) -> str:
        """Return the S3 key of a store key (the prefix added)."""
        return self.prefix + check_key(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_name(key)}"

    def local_path(self, key: str) -> None:
        """Return None: objects have no local file (see fetch)."""
        return None

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(
                Bucket=self.bucket, Key=self.object_name(key)
            )
        except Exception as error:
            if error_code(error) in MISSING_CODES:
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise NotFound(f"object {key} not found")
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(
            Bucket=self.bucket, Key=self.object_name(key)
        )

    @contextlib.contextmanager
    def fetch(self, key: str) -> Iterator[Path]:
        """Download key into a temporary file and yield its path."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="s3-")
        os.close(handle)
        path = Path(name)
        try:
            self.client.download_file(self.bucket, self.object_name(key), name)
            yield path
        except Exception as error:
            if error_code(error) in MISSING_CODES:
                raise Invalid(f"object {key} was not uploaded") from None
            raise
        finally:
            path.unlink(missing_ok=True)

    def sha256(self, key: str) -> str:
        """Return the hex sha256 of an object, read in chunks."""
        digest = hashlib.sha256()
        response = self.client.get_object(
            Bucket=self.bucket, Key=self.object_name(key)
        )
        for chunk in response["Body"].iter_chunks(CHUNK_BYTES):
            digest.update(chunk)
        return digest.hexdigest()

    def store_file(self, source: Path, key: str) -> None:
        """Upload a local file to key."""
        self.client.upload_file(
            str(source), self.bucket, self.object_name(key)
        )

    def signed_url(
        self, base: str, method: str, key: str, expires_in: int
    ) -> str:
        """Return an S3 presigned URL for GET or PUT; base is unused."""
        operations = {"GET": "get_object", "PUT": "put_object"}
        operation = operations.get(method.upper())
        if operation is None:
            raise Invalid(f"no presigned S3 URL for method {method}")
        return self.client.generate_presigned_url(
            operation,
            Params={"Bucket": self.bucket, "Key": self.object_name(key)},
            ExpiresIn=expires_in,
        )

    def presigned_post(
        self,
        base: str,
        key: str,
        expires_in: int,
        content_type: str | None = None,
    ) -> dict:
        """Return S3's presigned POST {url, fields} for key."""
        limit = min(self._limit_for(key), MAX_POST_BYTES)
        fields = {}
        conditions: list = [["content-length-range", 0, limit]]
        if content_type:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        return self.client.generate_presigned_post(
            self.bucket,
            self.object_name(key),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in,
        )

    def verify(self, method: str, key: str, expires, signature) -> None:
        """Reject the orchestrator's own object URLs: S3 serves objects."""
        raise Forbidden(NOT_SERVED)

    def writer(self, key: str, max_bytes: int):
        raise Forbidden(NOT_SERVED)

    def path_for(self, key: str):
        raise Forbidden(NOT_SERVED)

    def list_keys(self, prefix: str) -> list[tuple[str, int]]:
        """Return (store key, size) of every object under prefix."""
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) :]
                found.append((key, int(item["Size"])))
        return found
