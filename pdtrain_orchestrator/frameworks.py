"""SageMaker framework images a run may name, with their Python versions.

Versions follow the training images of the SageMaker Python SDK
(`src/sagemaker/image_uri_config/*.json`): scikit-learn and XGBoost use
the image spelling `1.2-1`, PyTorch and TensorFlow plain `2.2.0`. A user
may also write `1.2.1` for `1.2-1`; `resolve` returns the image spelling.
"""

import dataclasses

# Framework name -> {image version: Python versions of that image}.
FRAMEWORKS: dict[str, dict[str, tuple[str, ...]]] = {
    "sklearn": {
        "1.9-0": ("py3",),
        "1.4-2": ("py3",),
        "1.2-1": ("py3",),
    },
    "xgboost": {
        "3.2-0": ("py3",),
        "3.0-5": ("py3",),
        "1.7-1": ("py3",),
        "1.5-1": ("py3",),
    },
    "pytorch": {
        "2.10.0": ("py313",),
        "2.9.0": ("py312",),
        "2.8.0": ("py312",),
        "2.7.1": ("py312",),
        "2.6.0": ("py312",),
        "2.5.1": ("py311",),
        "2.4.0": ("py311",),
        "2.3.0": ("py311",),
        "2.2.0": ("py310",),
        "2.1.0": ("py310",),
        "2.0.1": ("py310",),
    },
    "tensorflow": {
        "2.21.0": ("py312",),
        "2.19.0": ("py312",),
        "2.18.0": ("py310",),
        "2.16.2": ("py310",),
        "2.14.1": ("py310",),
        "2.13.0": ("py310",),
        "2.12.0": ("py310",),
    },
}

# Other names users write for the same frameworks.
ALIASES = {
    "scikit-learn": "sklearn",
    "scikit_learn": "sklearn",
    "torch": "pytorch",
    "tf": "tensorflow",
}


class UnknownFramework(ValueError):
    """A framework, version or Python version is not in FRAMEWORKS."""


@dataclasses.dataclass(frozen=True)
class FrameworkImage:
    """One framework image: canonical name, version and Python version."""

    framework: str
    version: str
    python_version: str


def _plain(version: str) -> str:
    return version.replace("-", ".")


def canonical_framework(name: str) -> str:
    """Return the FRAMEWORKS key for name, or raise UnknownFramework."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in FRAMEWORKS:
        raise UnknownFramework(
            f"unknown framework {name!r}; accepted: "
            f"{', '.join(sorted(FRAMEWORKS))}"
        )
    return key


def canonical_version(framework: str, version: str) -> str:
    """Return the image spelling of version, accepting `1.2.1` for `1.2-1`."""
    versions = FRAMEWORKS[framework]
    requested = _plain(version.strip())
    for known in versions:
        if _plain(known) == requested:
            return known
    raise UnknownFramework(
        f"unknown {framework} version {version!r}; accepted: "
        f"{', '.join(versions)}"
    )


def resolve(
    framework: str, version: str | None, python_version: str | None = None
) -> FrameworkImage:
    """Check a framework request and return its image.

    A missing python_version becomes the image's own. Raises
    UnknownFramework naming the bad value and the accepted ones.
    """
    name = canonical_framework(framework)
    if not version:
        raise UnknownFramework(
            f"framework_version is required with framework {name!r}; "
            f"accepted: {', '.join(FRAMEWORKS[name])}"
        )
    image_version = canonical_version(name, version)
    pythons = FRAMEWORKS[name][image_version]
    if python_version is None:
        return FrameworkImage(name, image_version, pythons[0])
    if python_version not in pythons:
        raise UnknownFramework(
            f"python_version {python_version!r} is not available for "
            f"{name} {image_version}; accepted: {', '.join(pythons)}"
        )
    return FrameworkImage(name, image_version, python_version)
