"""Request and response bodies of the multipart upload endpoints.

These endpoints are additive to the published v1 contract; servers
that have them list the `multipart` capability.
"""

import datetime

from pydantic import BaseModel, Field

# The maximum number of part URLs in one presign request.
MAX_PART_URLS = 1000


class MultipartCreateRequest(BaseModel):
    """Start a multipart upload to a key that a presign returned."""

    s3_key: str
    size_bytes: int = Field(ge=0)
    part_size: int | None = Field(default=None, gt=0)


class PartUrlsRequest(BaseModel):
    """Ask for signed PUT URLs of some parts."""

    part_numbers: list[int] = Field(min_length=1, max_length=MAX_PART_URLS)
    expires_in: int | None = Field(default=None, gt=0)


class CompletedPart(BaseModel):
    part_number: int = Field(ge=1)
    etag: str


class MultipartCompleteRequest(BaseModel):
    """Join the uploaded parts, listed in order with their ETags."""

    parts: list[CompletedPart] = Field(min_length=1)


class StoredPart(BaseModel):
    part_number: int
    size_bytes: int
    etag: str


class MultipartUploadResponse(BaseModel):
    """A multipart upload and, when listed, the parts stored so far."""

    upload_id: str
    s3_key: str
    size_bytes: int
    part_size: int
    part_count: int
    status: str
    created_at: datetime.datetime
    parts: list[StoredPart] | None = None


class PartUrl(BaseModel):
    part_number: int
    size_bytes: int
    url: str


class PartUrlsResponse(BaseModel):
    parts: list[PartUrl]
    expires_at: datetime.datetime
