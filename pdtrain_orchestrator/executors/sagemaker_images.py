"""Training image URIs of SageMaker's framework containers: the data table.

Accounts per region follow the `registries` maps of the SageMaker Python
SDK (`sagemaker-core/src/sagemaker/core/image_uri_config/*.json`, the
training scope of pytorch, tensorflow, xgboost and sklearn). Versions and
their Python versions come from `frameworks.FRAMEWORKS`, which the local
executor shares, so both executors accept the same requests.

URI: `<account>.dkr.ecr.<region>.<domain>/<repository>:<tag>`, where the
domain is `amazonaws.com.cn` in China regions and the tag is
`<version>-<cpu|gpu>-<py>` for PyTorch and TensorFlow, `<version>` for
XGBoost (one image for CPU and GPU) and `<version>-cpu-py3` for
scikit-learn, which has no GPU image.
"""

import dataclasses

from pdtrain_orchestrator import frameworks

DEEP_LEARNING_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-east-2": "975050140332",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "763104351884",
    "ap-south-2": "772153158452",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-6": "633930458069",
    "ap-southeast-7": "590183813437",
    "ca-central-1": "763104351884",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": "763104351884",
    "eu-central-2": "380420809688",
    "eu-north-1": "763104351884",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "mx-central-1": "637423239942",
    "sa-east-1": "763104351884",
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
}
SAGEMAKER_ACCOUNTS = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


@dataclasses.dataclass(frozen=True)
class ImageFamily:
    """Naming rules of one framework's training images."""

    repository: str
    accounts: dict[str, str]
    # Tag layout: "processor-python" (2.2.0-gpu-py310), "version-only"
    # (3.2-0) or "cpu-only" (1.2-1-cpu-py3).
    tag_style: str


FAMILIES = {
    "pytorch": ImageFamily(
        "pytorch-training", DEEP_LEARNING_ACCOUNTS, "processor-python"
    ),
    "tensorflow": ImageFamily(
        "tensorflow-training", DEEP_LEARNING_ACCOUNTS, "processor-python"
    ),
    "xgboost": ImageFamily(
        "sagemaker-xgboost", SAGEMAKER_ACCOUNTS, "version-only"
    ),
    "sklearn": ImageFamily(
        "sagemaker-scikit-learn", SAGEMAKER_ACCOUNTS, "cpu-only"
    ),
}

# Instance families with GPUs: ml.p3, ml.p4d, ml.g4dn, ml.g5 and so on.
GPU_FAMILY_PREFIXES = ("p", "g")


class ImageError(ValueError):
    """No training image matches the framework, region or instance."""


def is_gpu_instance(instance_type: str) -> bool:
    """Return True for GPU instance types such as ml.g5.xlarge."""
    parts = instance_type.split(".")
    return len(parts) == 3 and parts[1].startswith(GPU_FAMILY_PREFIXES)


def _tag(family: ImageFamily, image, instance_type: str) -> str:
    gpu = is_gpu_instance(instance_type)
    if family.tag_style == "version-only":
        return image.version
    if family.tag_style == "cpu-only":
        if gpu:
            raise ImageError(
                f"{image.framework} has no GPU image; use a CPU instance "
                f"type instead of {instance_type}"
            )
        return f"{image.version}-cpu-{image.python_version}"
    processor = "gpu" if gpu else "cpu"
    return f"{image.version}-{processor}-{image.python_version}"


def image_uri(
    framework: str,
    version: str | None,
    python_version: str | None,
    region: str,
    instance_type: str,
) -> str:
    """Return the training image URI; raise ImageError naming the fix."""
    try:
        image = frameworks.resolve(framework, version, python_version)
    except frameworks.UnknownFramework as error:
        raise ImageError(str(error)) from None
    family = FAMILIES[image.framework]
    account = family.accounts.get(region)
    if account is None:
        raise ImageError(
            f"no {image.framework} training image is published in region "
            f"{region!r}; pass --image or use another region"
        )
    domain = (
        "amazonaws.com.cn" if region.startswith("cn-") else ("amazonaws.com")
    )
    tag = _tag(family, image, instance_type)
    return f"{account}.dkr.ecr.{region}.{domain}/{family.repository}:{tag}"
