"""Every command that takes a bundle, dataset or run accepts each form.

Bundles and datasets: id, name, name:latest, name:N and name:vN. Runs:
the full id, a unique id prefix and the run name. One owner with two
versions of a bundle and a dataset and three runs serves every case.
"""

import json
import uuid
from dataclasses import dataclass

import pytest

from tests.functional.conftest import Cli, base_env

SCRIPT = """\
import os
print("hello v%s" % VERSION, flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "w.txt"), "w") as out:
    out.write("weights")
"""


@dataclass
class World:
    """What the module's owner has uploaded and run."""

    cli: Cli
    bundles: dict  # version -> bundle object
    datasets: dict  # version -> upload result
    older: dict  # the first run named "named"
    newer: dict  # the second, newest run named "named"
    solo: dict  # a created run named "solo", never submitted


def _upload_versions(cli, tmp_path):
    bundles, datasets = {}, {}
    for version in (1, 2):
        folder = tmp_path / f"code{version}"
        folder.mkdir()
        script = SCRIPT.replace("VERSION", str(version))
        (folder / "train.py").write_text(script)
        bundles[version] = cli.json(
            "bundle", "upload", folder, "--name", "refb"
        )
        data = tmp_path / f"data{version}" / "rows.csv"
        data.parent.mkdir()
        data.write_text(f"x,y\n{version},{version}\n")
        datasets[version] = cli.json(
            "dataset", "upload", data, "--name", "refd"
        )
    return bundles, datasets


@pytest.fixture(scope="module")
def world(server, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("refs")
    env = base_env(tmp_path / "cli-home")
    env["PDTRAIN_API_URL"] = server.url
    env["PDTRAIN_API_KEY"] = server.create_key(f"refs-{uuid.uuid4().hex[:8]}")
    cli = Cli(home=tmp_path / "cli-home", env=env)
    bundles, datasets = _upload_versions(cli, tmp_path)
    runs = [
        cli.json(
            "run", "create", "--bundle", f"refb:{version}", "--dataset",
            "refd:1", "--name", "named", "--wait", "--interval", "0.3",
        )
        for version in (1, 2)
    ]
    solo = cli.json("run", "create", "--bundle", "refb", "--name", "solo")
    return World(cli, bundles, datasets, runs[0], runs[1], solo)


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("ID1", 1),
        ("ID2", 2),
        ("refb", 2),
        ("refb:latest", 2),
        ("refb:1", 1),
        ("refb:v1", 1),
        ("refb:V2", 2),
    ],
)
def test_bundle_show_accepts_ref_form(world, ref, version):
    ref = ref.replace("ID1", world.bundles[1]["id"])
    ref = ref.replace("ID2", world.bundles[2]["id"])

    shown = world.cli.json("bundle", "show", ref)

    assert shown["id"] == world.bundles[version]["id"]
    assert shown["version"] == version


def _dataset_ref(world, ref):
    return ref.replace("ID", world.datasets[1]["id"])


DATASET_REFS = [
    ("ID", 2),
    ("ID:1", 1),
    ("refd", 2),
    ("refd:latest", 2),
    ("refd:1", 1),
    ("refd:v1", 1),
    ("refd:2", 2),
]


@pytest.mark.parametrize(("ref", "version"), DATASET_REFS)
def test_dataset_show_accepts_ref_form(world, ref, version):
    shown = world.cli.json("dataset", "show", _dataset_ref(world, ref))

    assert shown["id"] == world.datasets[1]["id"]
    assert shown["version"] == version


@pytest.mark.parametrize(("ref", "version"), DATASET_REFS)
def test_dataset_download_accepts_ref_form(world, ref, version, tmp_path):
    target = tmp_path / "out"

    result = world.cli(
        "dataset", "download", _dataset_ref(world, ref), "--output", target
    )

    assert result.returncode == 0, result.stderr
    expected = f"x,y\n{version},{version}\n"
    assert (target / "rows.csv").read_text() == expected


@pytest.mark.parametrize(
    ("bundle_ref", "dataset_ref", "bundle", "dataset"),
    [
        ("ID1", "ID:1", 1, 1),
        ("refb", "refd", 2, 2),
        ("refb:latest", "refd:latest", 2, 2),
        ("refb:1", "train=refd:v1", 1, 1),
        ("refb:v1", "refd:2", 1, 2),
    ],
)
def test_run_create_accepts_ref_forms(
    world, bundle_ref, dataset_ref, bundle, dataset
):
    bundle_ref = bundle_ref.replace("ID1", world.bundles[1]["id"])

    run = world.cli.json(
        "run", "create", "--bundle", bundle_ref,
        "--dataset", _dataset_ref(world, dataset_ref),
    )

    assert run["bundle"]["id"] == world.bundles[bundle]["id"]
    assert run["inputs"][0]["dataset_id"] == world.datasets[1]["id"]
    assert run["inputs"][0]["version"] == dataset


def _run_ref(world, form):
    """Return a reference of the given form to the newest "named" run."""
    run_id = world.newer["id"]
    return {"id": run_id, "prefix": run_id[:8], "name": "named"}[form]


RUN_FORMS = ["id", "prefix", "name"]


@pytest.mark.parametrize("form", RUN_FORMS)
@pytest.mark.parametrize(
    "command", [("run", "show"), ("run", "refresh"), ("run", "watch")]
)
def test_run_show_commands_accept_ref_form(world, command, form):
    shown = world.cli.json(*command, _run_ref(world, form))

    assert shown["id"] == world.newer["id"]
    assert shown["status"] == "completed"


@pytest.mark.parametrize("form", RUN_FORMS)
def test_logs_accepts_run_ref_form(world, form):
    result = world.cli("logs", _run_ref(world, form))

    assert result.returncode == 0, result.stderr
    assert "hello v2" in result.stdout.splitlines()
    assert "hello v1" not in result.stdout


@pytest.mark.parametrize("form", RUN_FORMS)
def test_artifacts_list_accepts_run_ref_form(world, form):
    listed = world.cli.json("artifacts", "list", _run_ref(world, form))

    assert "model.tar.gz" in [item["path"] for item in listed]


@pytest.mark.parametrize("form", RUN_FORMS)
def test_artifacts_download_accepts_run_ref_form(world, form, tmp_path):
    result = world.cli(
        "artifacts", "download", _run_ref(world, form),
        "--output", tmp_path / "got",
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "got" / "model.tar.gz").is_file()


def test_run_name_with_several_runs_warns_which(world):
    result = world.cli("run", "show", "named", "-f", "value", "-c", "id")

    assert result.stdout.strip() == world.newer["id"]
    assert "matches 2 runs; using the newest" in result.stderr
    assert world.newer["id"] in result.stderr


def test_run_prefix_of_older_run_picks_it(world):
    result = world.cli("logs", world.older["id"][:6], "--grep", "^hello")

    assert result.stdout.splitlines() == ["hello v1"]


def test_upper_case_full_run_id_found(world):
    upper = world.newer["id"].upper()

    found = world.cli("run", "show", upper, "-f", "value", "-c", "id")
    unknown = world.cli("run", "show", "F" * 32)

    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == world.newer["id"]
    assert unknown.returncode == 1
    assert f"Run {'F' * 32!r} not found" in unknown.stderr
    assert "`pdtrain run list` shows them" in unknown.stderr


def test_run_submit_and_stop_accept_name(world):
    submitted = world.cli.json("run", "submit", "solo")
    stopped = world.cli.json("run", "stop", "solo", "--yes")

    assert submitted["id"] == world.solo["id"]
    assert stopped["id"] == world.solo["id"]


def test_unknown_run_ref_is_one_line_404(world):
    result = world.cli("run", "show", "no-such-run")

    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: Run 'no-such-run' not found: no run has that id, id prefix "
        "or name; `pdtrain run list` shows them"
    )
    assert result.stderr.endswith("(HTTP 404)\n")
    assert result.stderr.count("\n") == 1


def _complete(world, line):
    result = world.cli("complete", "--line", line)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_completion_offers_bundle_names_and_versions(world):
    # Completion never starts a server; the module's server is remote.
    assert _complete(world, "bundle show ref") == [
        "refb", "refb:1", "refb:2",
    ]


def test_completion_offers_dataset_versions_after_channel(world):
    candidates = _complete(world, "run create --dataset train=refd:")

    assert candidates == ["train=refd:1", "train=refd:2"]


def test_completion_offers_run_names_and_ids(world):
    candidates = _complete(world, "logs ")

    assert "named" in candidates
    assert "solo" in candidates
    assert world.newer["id"] in candidates


def test_piped_shell_resolves_names(world):
    script = "run show named -f value -c id\nbundle show refb:1 -f json\n"

    result = world.cli(input=script)

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert lines[0] == world.newer["id"]
    assert json.loads("\n".join(lines[1:]))["version"] == 1


@pytest.mark.parametrize("ref", [".", ".."])
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("run", "show"), "Error: Run '{ref}' not found: no run has"),
        (("logs",), "Error: Run '{ref}' not found: no run has"),
        (("bundle", "show"), "Error: Bundle '{ref}' not found; bundles: "),
        (("dataset", "show"), "Error: Dataset '{ref}' not found; "),
    ],
)
def test_dot_ref_is_not_found(world, command, expected, ref):
    # A bare "." once read the list endpoint and failed with a KeyError.
    result = world.cli(*command, ref)

    assert result.returncode == 1
    assert result.stderr.startswith(expected.format(ref=ref))
    assert len(result.stderr.splitlines()) == 1
