"""Pip packages that replace each SageMaker framework image on this host.

A framework run installs these into its cached environment so that a
script which relies on what the image ships (numpy, pandas and so on
beside scikit-learn) runs unchanged. Versions come in SageMaker's spelling
(``1.2-1``) or plain (``1.2.1``, read as ``1.2-1``).
"""

from dataclasses import dataclass

from pdtrain_orchestrator import frameworks

# Libraries the scikit-learn and XGBoost images ship beside the framework.
_DATA_LIBS = ("numpy", "pandas", "scipy", "joblib")
# Wheels of scikit-learn before 1.4.2 and torch before 2.4 were compiled
# against numpy 1.x and fail to import beside numpy 2. XGBoost 1.x predates
# numpy 2, so it stays on numpy 1 as a precaution.
_DATA_LIBS_NUMPY1 = ("numpy<2", "pandas", "scipy", "joblib")

# NOTE: plain `torch==X` from PyPI is the CUDA build (several GB on x86_64).
# The CPU-only wheels live on a separate PyTorch index that machines limited
# to PyPI cannot reach, so no index is set here.
PACKAGES: dict[str, dict[str, tuple[str, ...]]] = {
    "sklearn": {
        "1.2-1": ("scikit-learn==1.2.1",) + _DATA_LIBS_NUMPY1,
        "1.4-2": ("scikit-learn==1.4.2",) + _DATA_LIBS,
        "1.9-0": ("scikit-learn==1.9.0",) + _DATA_LIBS,
    },
    "xgboost": {
        "1.5-1": ("xgboost==1.5.*",) + _DATA_LIBS_NUMPY1,
        "1.7-1": ("xgboost==1.7.*",) + _DATA_LIBS_NUMPY1,
        "3.0-5": ("xgboost==3.0.*",) + _DATA_LIBS,
        "3.2-0": ("xgboost==3.2.*",) + _DATA_LIBS,
    },
    "pytorch": {
        version: (f"torch=={version}", "numpy<2" if old else "numpy")
        for version, old in (
            ("2.0.1", True),
            ("2.1.0", True),
            ("2.2.0", True),
            ("2.3.0", True),
            ("2.4.0", False),
            ("2.5.1", False),
            ("2.6.0", False),
            ("2.7.1", False),
            ("2.8.0", False),
            ("2.9.0", False),
            ("2.10.0", False),
        )
    },
    "tensorflow": {
        version: (f"tensorflow=={version}",)
        for version in (
            "2.12.0",
            "2.13.0",
            "2.14.1",
            "2.16.2",
            "2.18.0",
            "2.19.0",
            "2.21.0",
        )
    },
}


UnknownFramework = frameworks.UnknownFramework


@dataclass(frozen=True)
class FrameworkPackages:
    """The pip requirements for one framework version."""

    framework: str
    version: str
    requirements: tuple[str, ...]


def resolve(framework: str, version: str | None) -> FrameworkPackages:
    """Look up the packages of a framework version in either spelling.

    Names, aliases and versions are checked by pdtrain_orchestrator's
    framework table; this module only adds the packages of each version.
    """
    name = frameworks.canonical_framework(framework)
    if not version:
        raise UnknownFramework(f"framework {name} needs a version")
    image_version = frameworks.canonical_version(name, version)

    requirements = PACKAGES.get(name, {}).get(image_version)
    if requirements is None:
        raise UnknownFramework(
            f"{name} {image_version} has no package list for local runs"
        )
    return FrameworkPackages(name, image_version, requirements)


def check_installable(
    framework: str,
    version: str | None,
    python_version: str | None,
    envs_dir=None,
) -> None:
    """Raise UnknownFramework unless a local run can install version.

    A version is rejected when it has no package list here, or when an
    earlier install of it failed on this server (see env_store). The
    message lists the versions that work. Needs no network.
    """
    from . import env_store, environments

    name = frameworks.canonical_framework(framework)
    image = frameworks.resolve(name, version, python_version)
    python, _ = environments.base_interpreter(image.python_version)
    label = environments.python_label(python)

    def failure(candidate):
        if envs_dir is None:
            return None
        return env_store.failed_install(envs_dir, name, candidate, label)

    working = [v for v in PACKAGES.get(name, {}) if failure(v) is None]
    listed = ", ".join(working) or "none"
    if image.version not in PACKAGES.get(name, {}):
        raise UnknownFramework(
            f"{name} {image.version} has no package list for local runs; "
            f"versions that work: {listed}"
        )
    reason = failure(image.version)
    if reason is not None:
        record = env_store.FAILED_PREFIX + env_store.failure_name(
            name, image.version, label
        )
        raise UnknownFramework(
            f"{name} {image.version} failed to install on this server "
            f"({reason}); versions that work: {listed}. Once the cause "
            f"is fixed, allow a retry with `pdtrain server envs delete "
            f"{record}`"
        )
