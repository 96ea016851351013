"""Shipped examples and cached environments, run through LocalExecutor."""

import json
from pathlib import Path

import pytest

from pdtrain_orchestrator.executors.base import Channel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

USE_SIX = (
    "import os, sys, six\n"
    "path = os.path.join(os.environ['SM_MODEL_DIR'], 'python.txt')\n"
    "open(path, 'w').write(sys.executable)\n"
)


def test_failing_example_fails_with_its_error(
    make_executor, make_spec, events
):
    script = (EXAMPLES / "failing" / "train.py").read_text()
    spec = make_spec({"train.py": script})

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id)

    assert final["status"] == "failed"
    assert final["exit_code"] == 1
    assert (
        "ValueError: labels column 'target' not found in the input data"
    ) in final["failure_reason"]
    assert "epoch 3: loss 0.333" in events.lines_of(spec.run_id, "stdout")


@pytest.mark.slow
def test_second_run_reuses_cached_environment(
    make_executor, make_spec, events, tmp_path
):
    files = {"train.py": USE_SIX, "requirements.txt": "six==1.16.0\n"}
    first = make_spec(files)
    second = make_spec(files)
    executor = make_executor(max_concurrent=2)

    executor.submit(first)
    executor.submit(second)
    assert events.wait_terminal(first.run_id, 300)["status"] == "completed"
    assert events.wait_terminal(second.run_id, 300)["status"] == "completed"

    pythons = {
        (spec.run_dir / "model" / "python.txt").read_text()
        for spec in (first, second)
    }
    assert len(pythons) == 1
    assert pythons.pop().startswith(str(tmp_path / "envs"))
    builds = [
        spec.run_id
        for spec in (first, second)
        if any(
            line.startswith("pdtrain: Built environment")
            for line in events.lines_of(spec.run_id)
        )
    ]
    reuses = [
        spec.run_id
        for spec in (first, second)
        if any(
            line.startswith("pdtrain: Reusing cached environment")
            for line in events.lines_of(spec.run_id)
        )
    ]
    assert len(builds) == 1
    assert len(reuses) == 1
    reused_logs = events.lines_of(reuses[0])
    assert not any("pip install" in line for line in reused_logs)


@pytest.mark.slow
def test_digits_example_trains_accurate_model(
    make_executor, make_spec, events
):
    bundle = EXAMPLES / "digits" / "bundle"
    files = {
        name: (bundle / name).read_text()
        for name in ("train.py", "requirements.txt")
    }
    data = EXAMPLES / "digits" / "data" / "digits.csv"
    spec = make_spec(
        files,
        hyperparameters={"max-iter": 1000, "c": 1.0},
        channels=[Channel("dataset", [data], unpack=False)],
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id, 600)

    assert final["status"] == "completed", final
    model_dir = spec.run_dir / "model"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.95
    assert (model_dir / "model.joblib").is_file()


@pytest.mark.slow
def test_sklearn_framework_provides_image_libraries(
    make_executor, make_spec, events
):
    script = (
        "import joblib, pandas, scipy, sklearn\n"
        "print('sklearn', sklearn.__version__)\n"
    )
    spec = make_spec(
        {"train.py": script}, framework="sklearn", framework_version="1.4.2"
    )

    make_executor().submit(spec)
    final = events.wait_terminal(spec.run_id, 600)

    assert final["status"] == "completed", final
    assert "sklearn 1.4.2" in events.lines_of(spec.run_id, "stdout")
