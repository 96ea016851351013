"""boto3 clients for the AWS backends, built one way everywhere.

boto3 is imported here only, when a client is made, so a server with
local backends runs without it installed.
"""

import logging

LOG = logging.getLogger(__name__)

# botocore's "standard" mode retries throttling and 5xx responses with
# backoff; five attempts ride out a short S3 or SageMaker hiccup.
MAX_ATTEMPTS = 5


class MissingDependency(RuntimeError):
    """boto3 is not installed but an AWS backend was configured."""


def make_client(
    service: str,
    region: str | None,
    endpoint_url: str | None = None,
    addressing_style: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
):
    """Return a boto3 client for service in region.

    endpoint_url sends every call to another host, such as an
    S3-compatible store or a local emulator; such endpoints get
    path-style S3 URLs unless addressing_style sets another style.
    """
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingDependency(
            "the AWS backends need boto3; install it with "
            "`pip install 'pdtrain[aws]'`"
        ) from None

    options = {"retries": {"max_attempts": max_attempts, "mode": "standard"}}
    if service == "s3":
        style = addressing_style or "auto"
        if style == "auto" and endpoint_url:
            style = "path"
        options["s3"] = {"addressing_style": style}
        options["signature_version"] = "s3v4"
    LOG.debug("Creating %s client for region %s", service, region)
    return boto3.session.Session().client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(**options),
    )


def error_code(error) -> str:
    """Return the AWS error code of a botocore ClientError, else ''."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
