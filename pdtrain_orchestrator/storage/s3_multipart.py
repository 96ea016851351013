"""Multipart uploads on S3's own multipart API.

The same five methods as the local store's multipart interface
(storage/multipart.py), so the multipart endpoints work unchanged: part
URLs are S3 presigned UploadPart URLs, and the client's PUT goes straight
to S3, which returns the part's ETag.
"""

import logging

from pdtrain_orchestrator.aws import error_code
from pdtrain_orchestrator.errors import Invalid, NotFound

LOG = logging.getLogger(__name__)

# S3 rejects every part but the last below 5 MiB at completion.
MIN_S3_PART_BYTES = 5 * 1024 * 1024
INVALID_PART_CODES = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall")


class S3MultipartMixin:
    """Multipart methods of S3ObjectStore (needs client, bucket, prefix)."""

    def create_multipart(self, key, size_bytes: int, part_size: int) -> str:
        """Start an S3 multipart upload to key and return its id."""
        if size_bytes > part_size and part_size < MIN_S3_PART_BYTES:
            raise Invalid(
                f"part size {part_size} is below S3's minimum of "
                f"{MIN_S3_PART_BYTES} bytes; use larger parts"
            )
        answer = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.object_name(key)
        )
        LOG.info("Started S3 multipart upload to %s", key)
        return answer["UploadId"]

    def presign_part(
        self, base, key, upload_id, part_number: int, expires_in: int
    ) -> str:
        """Return S3's presigned URL for one UploadPart; base is unused."""
        return self.client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": self.object_name(key),
                "UploadId": upload_id,
                "PartNumber": part_number,
            },
            ExpiresIn=expires_in,
        )

    def list_parts(self, key: str, upload_id: str) -> list[dict]:
        """Return [{part_number, size_bytes, etag}] of the stored parts."""
        parts = []
        paginator = self.client.get_paginator("list_parts")
        pages = paginator.paginate(
            Bucket=self.bucket, Key=self.object_name(key), UploadId=upload_id
        )
        try:
            for page in pages:
                parts += [
                    {
                        "part_number": part["PartNumber"],
                        "size_bytes": part["Size"],
                        "etag": part["ETag"].strip('"'),
                    }
                    for part in page.get("Parts", [])
                ]
        except Exception as error:
            if error_code(error) == "NoSuchUpload":
                raise NotFound(
                    f"multipart upload {upload_id} not found"
                ) from None
            raise
        return parts

    def complete_multipart(self, key, upload_id, parts: list) -> dict:
        """Join the parts, [(number, etag)] in order, into key."""
        listed = [
            {"PartNumber": number, "ETag": f'"{etag.strip(chr(34))}"'}
            for number, etag in parts
        ]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.object_name(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
        except Exception as error:
            code = error_code(error)
            if code == "NoSuchUpload":
                raise NotFound(
                    f"multipart upload {upload_id} not found"
                ) from None
            if code in INVALID_PART_CODES:
                raise Invalid(
                    f"S3 rejected the parts ({code}): {error}"
                ) from None
            raise
        LOG.info("Completed S3 multipart upload to %s", key)
        return {"size_bytes": self.size(key), "parts": len(parts)}

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an upload and every part S3 stored for it."""
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket,
                Key=self.object_name(key),
                UploadId=upload_id,
            )
        except Exception as error:
            if error_code(error) == "NoSuchUpload":
                raise NotFound(
                    f"multipart upload {upload_id} not found"
                ) from None
            raise
        LOG.info("Aborted S3 multipart upload to %s", key)
