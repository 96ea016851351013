"""The team server's config file: every problem reported at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pdtrain_orchestrator.server_config import (
    ConfigError,
    load_config,
    parse_config,
)
from pdtrain_orchestrator.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "server.yaml"
BIN_DIR = Path(sys.executable).parent
BAD = {
    "server": {"port": 99999, "workers": 0},
    "database": {"url": "mysql://db/pdtrain"},
    "storage": {"backend": "s3", "region": "Europe", "bukcet": "x"},
    "executor": {
        "backend": "sagemaker",
        "region": "eu-west-1",
        "role_arn": "pdtrain-role",
    },
    "limits": {"max_bundle_count": -1},
    "colour": "blue",
}
EXPECTED_PROBLEMS = (
    "server.port: must be a port number",
    "server.workers: must be a whole number of at least 1",
    "database.url: 'mysql' is not a supported database",
    "storage.region: 'Europe' is not an AWS region",
    "storage.bukcet: unknown field",
    "storage.bucket: missing; backend s3 needs it",
    "executor.role_arn: 'pdtrain-role' is not an IAM role ARN",
    "limits.max_bundle_count: must be a whole number of at least 1",
    "colour: unknown section",
)


def test_config_reports_every_wrong_field():
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD)

    problems = "\n".join(caught.value.problems)
    for expected in EXPECTED_PROBLEMS:
        assert expected in problems
    assert len(caught.value.problems) == len(EXPECTED_PROBLEMS)


def test_config_example_is_valid_and_applies():
    config = load_config(EXAMPLE, environ={})
    settings = Settings(home="/tmp/unused")
    config.apply(settings)

    assert config.workers == 4
    assert settings.storage_backend == "s3"
    assert settings.s3.bucket == "example-pdtrain-data"
    assert settings.executor_backend == "sagemaker"
    assert settings.sagemaker.tags == {"team": "ml-platform"}
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.max_dataset_storage_gb == 500


def test_config_database_url_comes_from_environment(tmp_path):
    path = tmp_path / "server.yaml"
    path.write_text("database:\n  url: sqlite:///file.db\n")

    config = load_config(
        path, environ={"PDTRAIN_DATABASE_URL": "postgresql://u@h/db"}
    )

    assert config.database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("storage", "executor", "message"),
    [
        ("local", "sagemaker", "set storage.backend to s3"),
        ("s3", "local", "set storage.backend to local"),
    ],
)
def test_config_rejects_backends_that_cannot_work(storage, executor, message):
    data = {
        "storage": {"backend": storage},
        "executor": {"backend": executor},
    }
    if storage == "s3":
        data["storage"]["bucket"] = "team-bucket"
    if executor == "sagemaker":
        data["executor"].update(
            region="eu-west-1",
            role_arn="arn:aws:iam::123456789012:role/r",
        )

    with pytest.raises(ConfigError) as caught:
        parse_config(data)

    assert message in str(caught.value)


def test_config_rejects_invalid_yaml(tmp_path):
    path = tmp_path / "server.yaml"
    path.write_text("storage: [unclosed\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert "invalid YAML" in str(caught.value)


@pytest.fixture
def bad_config(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(BAD))
    return path


def test_serve_with_bad_config_lists_problems_and_exits(tmp_path, bad_config):
    home = tmp_path / "home"

    result = subprocess.run(
        [str(BIN_DIR / "pdtrain-orchestrator"), "serve", "--config",
         str(bad_config), "--home", str(home)],
        capture_output=True, text=True, timeout=60,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad_config}: 9 problems" in result.stderr
    for expected in EXPECTED_PROBLEMS:
        assert expected in result.stderr
    assert not (home / "server.json").exists()


def test_server_start_with_bad_config_shows_problems(tmp_path, bad_config):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PDTRAIN_")
    }
    env["PDTRAIN_HOME"] = str(tmp_path / "cli-home")

    result = subprocess.run(
        [str(BIN_DIR / "pdtrain"), "server", "start", "--config",
         str(bad_config)],
        capture_output=True, text=True, timeout=60, env=env,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "storage.bucket: missing" in result.stderr
    assert "executor.role_arn" in result.stderr


def test_server_start_with_missing_config_is_usage_error(tmp_path):
    env = dict(os.environ, PDTRAIN_HOME=str(tmp_path / "cli-home"))

    result = subprocess.run(
        [str(BIN_DIR / "pdtrain"), "server", "start", "--config",
         str(tmp_path / "nope.yaml")],
        capture_output=True, text=True, timeout=60, env=env,
    )

    assert result.returncode == 2
    assert "nope.yaml not found" in result.stderr
