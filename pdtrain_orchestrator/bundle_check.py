"""Validate an uploaded bundle archive before it becomes a bundle.

NOTE: the server stores only gzip-compressed tars. The stored object is
handed unchanged to both executors, and SageMaker's
sagemaker_submit_directory must be a tar.gz, so `bundle upload` converts
.tar and .zip input on the client instead of the server accepting each
format. A zip sent straight to the API is rejected with that fix.
"""

import dataclasses
import logging
from pathlib import Path

from pdtrain_core import archive_formats, bundle_rules
from pdtrain_core.archive import ArchiveError
from pdtrain_orchestrator.errors import Invalid

LOG = logging.getLogger(__name__)

DEFAULT_ENTRY = bundle_rules.DEFAULT_ENTRY
UNPACK_RATIO = bundle_rules.UNPACK_RATIO
FORMAT_FIX = (
    "the server stores bundles as gzip-compressed tars (.tar.gz); upload "
    "it with `pdtrain bundle upload`, which converts .tar and .zip, or "
    "repack it with `tar czf`"
)


@dataclasses.dataclass
class BundleCheck:
    """Findings of the validation of a bundle archive."""

    total_files: int
    has_requirements_txt: bool
    entry_point_verified: bool
    errors: list[str]
    warnings: list[str]


def check_entry(entry: str) -> str:
    """Return entry if it is a relative path inside the bundle."""
    try:
        return bundle_rules.normalize_entry(entry)
    except bundle_rules.InvalidEntry as error:
        raise Invalid(str(error)) from None


def _file_names(path: Path, max_unpacked_bytes: int) -> list[str]:
    """Return the file names of the bundle after extract's safety checks.

    Reading the member headers is enough, so nothing is written to disk.
    """
    try:
        kind = archive_formats.detect(path)
        if kind != archive_formats.TAR_GZ:
            raise Invalid(
                f"bundle is a {kind} archive, not a tar.gz; {FORMAT_FIX}"
            )
        summary = archive_formats.check(
            path, max_unpacked_bytes, bundle_rules.MAX_FILES
        )
    except ArchiveError as error:
        raise Invalid(f"invalid bundle archive: {error}") from error
    return summary.files


def check_bundle(
    path: Path, entry: str, max_unpacked_bytes: int, strict: bool
) -> BundleCheck:
    """Inspect the archive at path by reading its member headers.

    Raises Invalid when the file is not a tar.gz, is unsafe to extract
    or contains no files. A missing entry point is an error when strict
    (the finalize request named its entry) and a warning otherwise.
    """
    names = _file_names(path, max_unpacked_bytes)
    if not names:
        raise Invalid("bundle archive contains no files")

    found = bundle_rules.inspect(names, entry, strict)
    return BundleCheck(
        total_files=found.total_files,
        has_requirements_txt=found.has_requirements_txt,
        entry_point_verified=found.entry_point_verified,
        errors=found.errors,
        warnings=found.warnings,
    )
