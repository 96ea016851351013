"""Train a handwritten-digit classifier on the dataset channel.

Reads digits.csv (64 pixel columns and a label column) from the channel in
SM_CHANNEL_DATASET or SM_CHANNEL_TRAIN, fits a scaled logistic regression,
and writes model.joblib and metrics.json to SM_MODEL_DIR. Runs unchanged
on SageMaker's scikit-learn image and on pdtrain's local executor.
"""

# An example script reports progress on stdout.
# ruff: noqa: T201

import argparse
import json
import os
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CHANNEL_VARIABLES = ("SM_CHANNEL_DATASET", "SM_CHANNEL_TRAIN")
FILE_NAME = "digits.csv"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-iter",
        type=int,
        default=1000,
        help="solver iterations (default 1000)",
    )
    # A one-character hyperparameter key arrives as "-c", a longer one as
    # "--key", so the short form is the one SageMaker passes.
    parser.add_argument(
        "-c",
        "--c",
        type=float,
        default=1.0,
        help="inverse regularization strength (default 1)",
    )
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.2,
        help="held-out fraction of rows (default 0.2)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed for the split and the solver",
    )
    parser.add_argument(
        "--model-dir", default=os.environ.get("SM_MODEL_DIR", "model")
    )
    return parser.parse_args(argv)


def find_dataset() -> Path:
    """Return the CSV path, or exit 1 with a message naming what is missing."""
    for variable in CHANNEL_VARIABLES:
        directory = os.environ.get(variable)
        if not directory:
            continue
        path = Path(directory) / FILE_NAME
        if path.is_file():
            return path
        found = sorted(item.name for item in Path(directory).iterdir())
        sys.exit(
            f"error: {path} not found; the channel in {variable} "
            f"contains: {', '.join(found) or 'nothing'}"
        )
    sys.exit(
        "error: no input channel; set SM_CHANNEL_DATASET or "
        "SM_CHANNEL_TRAIN to a folder containing "
        + FILE_NAME
        + " (pdtrain: pass --dataset NAME)"
    )


def load(path: Path):
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    return table[:, :-1], table[:, -1].astype(int)


def main(argv=None) -> int:
    args = parse_args(argv)
    path = find_dataset()
    features, labels = load(path)
    print(
        f"loaded {len(labels)} rows with {features.shape[1]} features "
        f"from {path}"
    )

    x_train, x_test, y_train, y_test = train_test_split(
        features,
        labels,
        test_size=args.test_size,
        random_state=args.seed,
        stratify=labels,
    )
    model = make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=args.c, max_iter=args.max_iter, random_state=args.seed
        ),
    )
    print(
        f"training on {len(y_train)} rows, C={args.c}, "
        f"max_iter={args.max_iter}"
    )
    started = time.monotonic()
    model.fit(x_train, y_train)
    seconds = time.monotonic() - started

    accuracy = accuracy_score(y_test, model.predict(x_test))
    metrics = {
        "accuracy": round(float(accuracy), 4),
        "train_rows": len(y_train),
        "test_rows": len(y_test),
        "fit_seconds": round(seconds, 3),
    }
    print(f"held-out accuracy: {accuracy:.4f} on {len(y_test)} rows")

    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / "model.joblib")
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"saved model.joblib and metrics.json to {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
