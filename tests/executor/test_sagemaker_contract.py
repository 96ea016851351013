"""One run on two executors: the arguments, SM_* variables and channel
files the local executor gives a script must match what the training
toolkit derives from the SageMaker request."""

import json

from pdtrain_orchestrator.backend_settings import S3Settings, SageMakerSettings
from pdtrain_orchestrator.executors.base import Channel
from pdtrain_orchestrator.executors.sagemaker_request import build_request
from pdtrain_orchestrator.storage.s3 import S3ObjectStore

DUMP = """\
import json
import os
import sys

channel_files = {}
for name in json.loads(os.environ["SM_CHANNELS"]):
    root = os.environ["SM_CHANNEL_" + name.upper()]
    channel_files[name] = sorted(
        os.path.relpath(os.path.join(folder, file), root)
        for folder, _, files in os.walk(root)
        for file in files
    )
result = {
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("SM_")},
    "files": channel_files,
}
with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as f:
    json.dump(result, f)
"""
HYPERPARAMETERS = {
    "epochs": 3,
    "lr": 0.01,
    "opt": "adam",
    "amp": True,
    "layers": [64, 32],
    "B": "capital",
}


def toolkit_view(request: dict) -> dict:
    """Apply the training toolkit's rules to a CreateTrainingJob request.

    sagemaker-training 5.1.4: reserved `sagemaker_*` keys are dropped,
    each value is JSON-decoded, keys are sorted, and each becomes
    `--key str(value)`.
    """
    decoded = {
        key: json.loads(value)
        for key, value in request["HyperParameters"].items()
        if not key.startswith("sagemaker_")
    }
    argv = []
    for key in sorted(decoded):
        flag = f"-{key}" if len(key) == 1 else f"--{key}"
        argv += [flag, str(decoded[key])]
    channels = sorted(
        item["ChannelName"] for item in request.get("InputDataConfig", [])
    )
    program = json.loads(request["HyperParameters"]["sagemaker_program"])
    return {
        "argv": argv,
        "hps": decoded,
        "channels": channels,
        "entry": program,
    }


def _channel(tmp_path):
    folder = tmp_path / "dataset-files"
    (folder / "sub").mkdir(parents=True)
    (folder / "iris.csv").write_text("a,b\n1,2\n")
    (folder / "sub" / "more.csv").write_text("a,b\n3,4\n")
    names = ["iris.csv", "sub/more.csv"]
    return Channel(
        name="train",
        files=[folder / name for name in names],
        unpack=False,
        names=names,
        keys=[f"alice/datasets/d1/u1/{name}" for name in names],
    )


def test_local_run_matches_sagemaker_request(
    tmp_path, make_executor, make_spec, events
):
    spec = make_spec(
        {"train.py": DUMP},
        hyperparameters=HYPERPARAMETERS,
        channels=[_channel(tmp_path)],
        framework="sklearn",
        framework_version="1.2-1",
        bundle_key="alice/bundles/b1/demo.tar.gz",
        owner="alice",
    )
    store = S3ObjectStore(
        S3Settings(bucket="team"), tmp_path, lambda key: 1, client=object()
    )
    request = build_request(
        spec,
        SageMakerSettings(
            region="us-east-1", role_arn="arn:aws:iam::1:role/r"
        ),
        store,
    )
    expected = toolkit_view(request)

    # Run locally in the server's Python: the framework only names the
    # SageMaker image, and the script needs nothing from it.
    spec.framework = spec.framework_version = None
    make_executor().submit(spec)
    events.wait_terminal(spec.run_id, timeout=60)
    seen = json.loads((spec.run_dir / "model" / "seen.json").read_text())
    env = seen["env"]

    assert seen["argv"] == expected["argv"]
    assert json.loads(env["SM_HPS"]) == expected["hps"]
    assert json.loads(env["SM_CHANNELS"]) == expected["channels"]
    assert env["SM_USER_ENTRY_POINT"] == expected["entry"]
    assert env["SM_CHANNEL_TRAIN"].endswith("input/data/train")
    # File mode copies every object under the channel's S3 prefix,
    # keeping the key's path below the prefix.
    (channel,) = request["InputDataConfig"]
    prefix = channel["DataSource"]["S3DataSource"]["S3Uri"]
    relative = sorted(
        store.uri(key)[len(prefix) :] for key in spec.channels[0].keys
    )
    assert seen["files"]["train"] == relative
