import pytest

from pdtrain_core import refs
from pdtrain_core.exceptions import InvalidReference, NotFound


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("mnist", "mnist", None),
        ("mnist:latest", "mnist", None),
        ("mnist:3", "mnist", 3),
        ("mnist:v3", "mnist", 3),
        ("mnist:V12", "mnist", 12),
    ],
)
def test_refs_parse_forms(text, name, version):
    ref = refs.parse(text)

    assert ref.name == name
    assert ref.version == version


@pytest.mark.parametrize("text", ["mnist:x", "mnist:", "mnist:v", ":3"])
def test_refs_parse_rejects_bad_version(text):
    with pytest.raises(InvalidReference):
        refs.parse(text)


def test_refs_uuid_is_an_id():
    ref = refs.parse("3f2b8c1e-93d4-4b6a-9a51-0d8e3c2f1a7b")

    assert ref.looks_like_id


class StubClient:
    """In-memory list and get endpoints for reference resolution."""

    def __init__(self, bundles=(), datasets=()):
        self.bundles = list(bundles)
        self.datasets = list(datasets)

    def list_bundles(self, name=None, limit=None):
        return [b for b in self.bundles if name in (None, b["name"])]

    def get_bundle(self, bundle_id):
        for bundle in self.bundles:
            if bundle["id"] == bundle_id:
                return bundle
        raise NotFound(404, "bundle not found")

    def list_datasets(self, name=None, limit=None):
        return [d for d in self.datasets if name in (None, d["name"])]

    def get_dataset(self, dataset_id):
        for dataset in self.datasets:
            if dataset["id"] == dataset_id:
                return dataset
        raise NotFound(404, "dataset not found")


BUNDLES = [
    {"id": "b1", "name": "mnist", "version": 1},
    {"id": "b2", "name": "mnist", "version": 2},
    {"id": "b10", "name": "mnist", "version": 10},
    {"id": "c1", "name": "cifar", "version": 1},
]
DATASETS = [
    {
        "id": "d1",
        "name": "iris",
        "current_version": 2,
        "versions": [{"version": 1}, {"version": 2}],
    }
]


def test_refs_bundle_name_resolves_to_latest_version():
    bundle = refs.resolve_bundle(StubClient(BUNDLES), "mnist")

    assert bundle["id"] == "b10"


def test_refs_bundle_version_resolves_exactly():
    assert refs.resolve_bundle(StubClient(BUNDLES), "mnist:v2")["id"] == "b2"


def test_refs_bundle_id_resolves_when_no_name_matches():
    assert refs.resolve_bundle(StubClient(BUNDLES), "c1")["name"] == "cifar"


def test_refs_unknown_bundle_lists_existing_names():
    with pytest.raises(InvalidReference) as caught:
        refs.resolve_bundle(StubClient(BUNDLES), "resnet")

    assert "Bundle 'resnet' not found" in str(caught.value)
    assert "cifar, mnist" in str(caught.value)


def test_refs_missing_bundle_version_lists_versions_in_order():
    with pytest.raises(InvalidReference) as caught:
        refs.resolve_bundle(StubClient(BUNDLES), "mnist:7")

    assert "versions: 1, 2, 10" in str(caught.value)


def test_refs_dataset_name_uses_current_version():
    dataset, version = refs.resolve_dataset(
        StubClient(datasets=DATASETS), "iris"
    )

    assert dataset["id"] == "d1"
    assert version == 2


def test_refs_dataset_missing_version_is_rejected():
    with pytest.raises(InvalidReference, match="no version 5"):
        refs.resolve_dataset(StubClient(datasets=DATASETS), "iris:5")
