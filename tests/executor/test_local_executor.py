"""LocalExecutor against real processes, bundles and run directories."""

import hashlib
import json
import sys
import tarfile
import textwrap

import pytest

from pdtrain_orchestrator.executors import container, layout
from pdtrain_orchestrator.executors.base import Channel

from .conftest import make_bundle

WRITE_MODEL = textwrap.dedent("""
    import os
    model_dir = os.environ["SM_MODEL_DIR"]
    with open(os.path.join(model_dir, "weights.txt"), "w") as handle:
        handle.write("w=1")
    os.makedirs(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "plots"))
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "plots",
                           "loss.csv"), "w") as handle:
        handle.write("1,0.5")
    print("trained")
""")

DUMP_CONTEXT = textwrap.dedent("""
    import json, os, sys
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "context.json"),
              "w") as handle:
        json.dump({"argv": sys.argv, "env": dict(os.environ),
                   "cwd": os.getcwd(), "executable": sys.executable},
                  handle)
""")

# Prints "ready", then saves a file on SIGTERM and exits.
SAVE_ON_SIGTERM = textwrap.dedent("""
    import os, signal, sys, time
    def save(signum, frame):
        path = os.path.join(os.environ["SM_MODEL_DIR"], "final.txt")
        with open(path, "w") as handle:
            handle.write("saved on stop")
        sys.exit(0)
    signal.signal(signal.SIGTERM, save)
    print("ready", flush=True)
    time.sleep(60)
""")

IGNORE_SIGTERM = textwrap.dedent("""
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(60)
""")


def members(path):
    with tarfile.open(path) as tar:
        return sorted(tar.getnames())


def test_run_completes_with_artifacts(make_executor, make_spec, events):
    spec = make_spec({"train.py": WRITE_MODEL})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "completed"
    assert final["exit_code"] == 0
    secondaries = [
        s["secondary_status"] for s in events.statuses_of(spec.run_id)
    ]
    assert secondaries == [
        "Pending",
        "Starting",
        "Downloading",
        "Training",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert "trained" in events.lines_of(spec.run_id, "stdout")
    assert (spec.run_dir / "output" / "success").is_file()
    artifacts = events.artifacts_of(spec.run_id)
    assert sorted(artifacts) == ["model.tar.gz", "output.tar.gz"]
    path, size, digest = artifacts["model.tar.gz"]
    assert members(path) == ["weights.txt"]
    assert size == path.stat().st_size
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    with tarfile.open(path) as tar:
        assert tar.extractfile("weights.txt").read() == b"w=1"
    output_path = artifacts["output.tar.gz"][0]
    assert members(output_path) == ["plots/loss.csv"]


def test_run_tree_and_config_files(make_executor, make_spec, events):
    spec = make_spec(
        {"train.py": "print('hi')"},
        hyperparameters={"epochs": 3, "opt": "adam"},
    )

    make_executor().submit(spec)
    events.wait_terminal(spec.run_id)

    for relative in (
        "input/config",
        "input/data",
        "code",
        "model",
        "output/data",
        "output/intermediate",
        "checkpoints",
    ):
        assert (spec.run_dir / relative).is_dir(), relative
    config = spec.run_dir / "input" / "config"
    hps = json.loads((config / "hyperparameters.json").read_text())
    assert hps["epochs"] == "3"
    assert hps["opt"] == '"adam"'
    assert hps["sagemaker_program"] == '"train.py"'
    resource = json.loads((config / "resourceconfig.json").read_text())
    assert resource["current_host"] == "algo-1"
    assert resource["hosts"] == ["algo-1"]
    assert resource["current_instance_type"] == "ml.m5.xlarge"


def test_argv_and_env_follow_contract(
    make_executor, make_spec, events, tmp_path
):
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n")
    hyperparameters = {
        "epochs": 3,
        "lr": 0.01,
        "b": True,
        "opt": "adam",
        "x": None,
        "layers": [64, 32],
        "nested": {"b": 2, "a": "x"},
        "Zeta": "007",
        "big": 1e3,
        "sagemaker_mpi_enabled": True,
    }
    spec = make_spec(
        {"train.py": DUMP_CONTEXT},
        hyperparameters=hyperparameters,
        channels=[Channel("train", [data], unpack=False)],
        env={"MY_VAR": "mine", "SM_MODEL_DIR": "/elsewhere"},
    )

    make_executor().submit(spec)
    assert events.wait_terminal(spec.run_id)["status"] == "completed"

    context = json.loads((spec.run_dir / "model" / "context.json").read_text())
    assert context["argv"] == [
        "train.py",
        "--Zeta",
        "007",
        "-b",
        "True",
        "--big",
        "1000.0",
        "--epochs",
        "3",
        "--layers",
        "[64, 32]",
        "--lr",
        "0.01",
        "--nested",
        "a=x,b=2",
        "--opt",
        "adam",
        "-x",
        "",
    ]
    env = context["env"]
    root = spec.run_dir
    assert context["cwd"] == str(root / "code")
    assert context["executable"] == sys.executable
    assert env["SM_MODEL_DIR"] == str(root / "model")
    assert env["MY_VAR"] == "mine"
    assert env["SM_CHANNELS"] == '["train"]'
    assert env["SM_CHANNEL_TRAIN"] == str(root / "input" / "data" / "train")
    assert (
        root / "input" / "data" / "train" / "rows.csv"
    ).read_text() == "a,b\n1,2\n"
    assert env["SM_OUTPUT_DATA_DIR"] == str(root / "output" / "data")
    assert env["SM_OUTPUT_DIR"] == str(root / "output")
    assert env["SM_INPUT_DIR"] == str(root / "input")
    assert env["SM_INPUT_CONFIG_DIR"] == str(root / "input" / "config")
    assert env["SM_MODULE_DIR"] == str(root / "code")
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_NAME"] == "train"
    assert env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert env["CURRENT_HOST"] == "algo-1"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert env["SM_FRAMEWORK_MODULE"] == ""
    assert env["SM_NUM_GPUS"] == "0"
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_HP_EPOCHS"] == "3"
    assert env["SM_HP_OPT"] == "adam"
    assert env["SM_HP_B"] == "true"
    assert env["SM_HP_X"] == ""
    assert env["SM_HP_NESTED"] == '{"a":"x","b":2}'
    assert "SM_HP_SAGEMAKER_MPI_ENABLED" not in env
    assert json.loads(env["SM_HPS"]) == {
        key: value
        for key, value in hyperparameters.items()
        if not key.startswith("sagemaker_")
    }
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {
        "sagemaker_mpi_enabled": True
    }
    assert json.loads(env["SM_USER_ARGS"]) == context["argv"][1:]
    assert json.loads(env["SM_INPUT_DATA_CONFIG"]) == {
        "train": {
            "RecordWrapperType": "None",
            "S3DistributionType": "FullyReplicated",
            "TrainingInputMode": "File",
        }
    }
    assert json.loads(env["SM_RESOURCE_CONFIG"])["hosts"] == ["algo-1"]
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["model_dir"] == str(root / "model")
    assert training_env["channel_input_dirs"] == {
        "train": env["SM_CHANNEL_TRAIN"]
    }
    assert env["TRAINING_JOB_NAME"] == spec.run_id
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PYTHONPATH"].split(":")[0] == str(root / "code")


def test_failing_script_reports_reason(make_executor, make_spec, events):
    script = "print('step 1')\nraise ValueError('boom')\n"
    spec = make_spec({"train.py": script}, hyperparameters={"epochs": 2})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["secondary_status"] == "Failed"
    assert final["exit_code"] == 1
    reason = final["failure_reason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:")
    assert "ExitCode 1" in reason
    assert 'ErrorMessage "ValueError: boom"' in reason
    assert "train.py --epochs 2" in reason
    failure_file = spec.run_dir / "output" / "failure"
    assert failure_file.read_text() in reason
    assert not (spec.run_dir / "output" / "success").exists()
    assert "model.tar.gz" in events.artifacts_of(spec.run_id)


def test_failure_file_from_script_wins(make_executor, make_spec, events):
    script = textwrap.dedent("""
        import os, sys
        path = os.path.join(os.environ["SM_OUTPUT_DIR"], "failure")
        with open(path, "w") as handle:
            handle.write("data has no label column" + "x" * 2000)
        sys.exit(2)
    """)
    spec = make_spec({"train.py": script})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["exit_code"] == 2
    reason = final["failure_reason"]
    assert reason.startswith("AlgorithmError: data has no label column")
    assert len(reason) == len("AlgorithmError: ") + 1024


def test_stop_packages_model_saved_on_sigterm(
    make_executor, make_spec, events
):
    spec = make_spec({"train.py": SAVE_ON_SIGTERM})
    executor = make_executor()

    executor.submit(spec)
    events.wait_line(spec.run_id, "ready")
    assert executor.stop(spec.run_id) is True
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "stopped"
    assert final["secondary_status"] == "Stopped"
    assert final["exit_code"] == 0
    model = events.artifacts_of(spec.run_id)["model.tar.gz"][0]
    assert members(model) == ["final.txt"]
    assert not (spec.run_dir / "output" / "failure").exists()


def test_stop_kills_after_grace(make_executor, make_spec, events):
    spec = make_spec({"train.py": IGNORE_SIGTERM})
    executor = make_executor(grace=0.5)

    executor.submit(spec)
    events.wait_line(spec.run_id, "ready")
    executor.stop(spec.run_id)
    final = events.wait_terminal(spec.run_id, timeout=10)

    assert final["status"] == "stopped"
    assert final["exit_code"] == 137


def test_max_runtime_stops_run(make_executor, make_spec, events):
    spec = make_spec(
        {"train.py": "import time\ntime.sleep(60)\n"}, max_runtime_seconds=1
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id, timeout=15)

    assert final["status"] == "stopped"
    assert final["secondary_status"] == "MaxRuntimeExceeded"
    assert "model.tar.gz" in events.artifacts_of(spec.run_id)


def test_concurrency_limit_queues_second_run(make_executor, make_spec, events):
    first = make_spec({"train.py": "import time\ntime.sleep(1)\n"})
    second = make_spec({"train.py": "print('second')"})
    executor = make_executor(max_concurrent=1)

    executor.submit(first)
    executor.submit(second)
    events.wait_terminal(second.run_id)

    order = [(s["run_id"], s["status"]) for s in events.statuses]
    assert order.index((second.run_id, "pending")) < order.index(
        (first.run_id, "completed")
    )
    assert order.index((first.run_id, "completed")) < order.index(
        (second.run_id, "running")
    )


def test_stop_pending_run_never_starts(make_executor, make_spec, events):
    first = make_spec({"train.py": SAVE_ON_SIGTERM})
    second = make_spec({"train.py": "print('second')"})
    executor = make_executor(max_concurrent=1)

    executor.submit(first)
    executor.submit(second)
    events.wait_line(first.run_id, "ready")
    executor.stop(second.run_id)
    executor.stop(first.run_id)
    events.wait_terminal(first.run_id)

    statuses = [s["status"] for s in events.statuses_of(second.run_id)]
    assert statuses == ["pending", "stopped"]
    assert not second.run_dir.exists()
    assert executor.stop(second.run_id) is False


def test_unsafe_bundle_fails(make_executor, make_spec, events, tmp_path):
    spec = make_spec({"train.py": "print(1)", "../evil.py": "print(2)"})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["failure_reason"].startswith("ClientError: bundle")
    assert "../evil.py" in final["failure_reason"]
    assert not (spec.run_dir / "evil.py").exists()
    assert events.artifacts_of(spec.run_id) == {}


def test_entry_outside_code_rejected(make_executor, make_spec, events):
    spec = make_spec({"train.py": "print(1)"}, entry="../x.py")

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert "entry point '../x.py' is invalid" in final["failure_reason"]


def test_missing_entry_lists_scripts(make_executor, make_spec, events):
    spec = make_spec(
        {"train.py": "", "util.py": "", "lib/deep.py": ""}, entry="main.py"
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["failure_reason"] == (
        "ClientError: entry point main.py not found in the bundle; "
        "top-level .py files: train.py, util.py"
    )


def test_shell_entry_runs_with_bash(make_executor, make_spec, events):
    spec = make_spec(
        {"train.sh": 'echo "args: $*"\n'},
        entry="train.sh",
        hyperparameters={"epochs": 4},
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "completed"
    assert "args: --epochs 4" in events.lines_of(spec.run_id, "stdout")


def test_lines_arrive_in_order(make_executor, make_spec, events):
    script = textwrap.dedent("""
        import sys
        for index in range(300):
            print(f"out {index}")
            print(f"err {index}", file=sys.stderr)
    """)
    spec = make_spec({"train.py": script})

    make_executor().submit(spec)
    events.wait_terminal(spec.run_id)

    out = events.lines_of(spec.run_id, "stdout")
    err = events.lines_of(spec.run_id, "stderr")
    assert [line for line in out if line.startswith("out ")] == [
        f"out {index}" for index in range(300)
    ]
    assert err == [f"err {index}" for index in range(300)]


def test_lines_arrive_while_script_runs(make_executor, make_spec, events):
    spec = make_spec({"train.py": SAVE_ON_SIGTERM})
    executor = make_executor()

    executor.submit(spec)
    events.wait_line(spec.run_id, "ready", timeout=10)

    assert events.statuses_of(spec.run_id)[-1]["status"] == "running"
    executor.stop(spec.run_id)


def test_packed_channel_is_unpacked(
    make_executor, make_spec, events, tmp_path
):
    packed = make_bundle(
        tmp_path / "data.tar.gz", {"images/a.txt": "A", "labels.csv": "x"}
    )
    script = textwrap.dedent("""
        import os
        root = os.environ["SM_CHANNEL_DATASET"]
        print(sorted(os.listdir(root)))
    """)
    spec = make_spec(
        {"train.py": script},
        channels=[Channel("dataset", [packed], unpack=True)],
    )

    make_executor().submit(spec)
    assert events.wait_terminal(spec.run_id)["status"] == "completed"

    assert "['images', 'labels.csv']" in events.lines_of(spec.run_id)


def test_image_mode_without_engine_fails(
    make_executor, make_spec, events, tmp_path, monkeypatch
):
    engine = tmp_path / "docker"
    engine.write_text(
        "#!/bin/sh\necho 'Cannot connect to the daemon' >&2\nexit 1\n"
    )
    engine.chmod(0o755)
    monkeypatch.setattr(container, "ENGINES", (str(engine),))
    spec = make_spec({"train.py": ""}, image="example/train:1")

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["failure_reason"] == (
        "ClientError: image mode needs a container engine; none is running "
        f"({engine} info failed: Cannot connect to the daemon)"
    )


def test_invalid_requirements_fail_run(make_executor, make_spec, events):
    spec = make_spec(
        {"train.py": "print(1)", "requirements.txt": "not a requirement !!\n"}
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id, timeout=60)

    assert final["status"] == "failed"
    reason = final["failure_reason"]
    assert reason.startswith(
        "AlgorithmError: requirements.txt install failed: ERROR:"
    )


def test_internal_error_fails_run(
    make_executor, make_spec, events, monkeypatch
):
    def broken(source, target):
        raise RuntimeError("disk vanished")

    monkeypatch.setattr(layout, "package_dir", broken)
    spec = make_spec({"train.py": "print(1)"})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["failure_reason"] == (
        "InternalServerError: RuntimeError: disk vanished"
    )


def test_failing_callback_does_not_stop_run(
    make_executor, make_spec, events, monkeypatch
):
    def broken_log(*args):
        raise RuntimeError("database locked")

    monkeypatch.setattr(events, "log", broken_log)
    spec = make_spec({"train.py": "print('lost line')"})

    make_executor().submit(spec)

    assert events.wait_terminal(spec.run_id)["status"] == "completed"


def test_shutdown_stops_running_and_queued(make_executor, make_spec, events):
    first = make_spec({"train.py": SAVE_ON_SIGTERM})
    second = make_spec({"train.py": "print('second')"})
    executor = make_executor(max_concurrent=1)

    executor.submit(first)
    executor.submit(second)
    events.wait_line(first.run_id, "ready")
    executor.shutdown()

    assert events.statuses_of(first.run_id)[-1]["status"] == "stopped"
    assert [s["status"] for s in events.statuses_of(second.run_id)] == [
        "pending",
        "stopped",
    ]
    with pytest.raises(RuntimeError):
        executor.submit(make_spec({"train.py": ""}))


def test_unknown_framework_version_fails(make_executor, make_spec, events):
    spec = make_spec(
        {"train.py": ""}, framework="sklearn", framework_version="0.1"
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["failure_reason"].startswith(
        "ClientError: unknown sklearn version '0.1'"
    )
