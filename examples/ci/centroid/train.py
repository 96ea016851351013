"""Train a nearest-centroid digit classifier with the standard library only.

Reads the first CSV file in the dataset channel (feature columns, then
a label column last, as in examples/digits/data/digits.csv), holds out a
stratified fraction of the rows, and writes centroids.json and
metrics.json to SM_MODEL_DIR. It installs nothing, so CI smoke tests and
the recorded session in docs/ train in about a second.
"""

# An example script reports progress on stdout.
# ruff: noqa: T201

import argparse
import csv
import json
import math
import os
import random
import sys
from collections import defaultdict
from pathlib import Path


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="held-out fraction of each label's rows (default 0.25)",
    )
    parser.add_argument("--seed", type=int, default=42, help="split seed")
    return parser.parse_args(argv)


def find_csv() -> Path:
    """Return the first CSV in the dataset channel or exit with a reason."""
    channel = os.environ.get("SM_CHANNEL_DATASET")
    if not channel:
        sys.exit("error: SM_CHANNEL_DATASET is not set; pass --dataset")
    found = sorted(Path(channel).glob("*.csv"))
    if not found:
        sys.exit(f"error: no .csv file in the dataset channel {channel}")
    return found[0]


def load(path: Path):
    """Return (features, labels) with the label in the last column."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [[float(value) for value in row] for row in reader if row]
    return [row[:-1] for row in rows], [int(row[-1]) for row in rows]


def split(labels, test_size, seed):
    """Return (train, test) row indexes, stratified by label."""
    by_label = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    shuffler = random.Random(seed)
    train, test = [], []
    for indexes in by_label.values():
        shuffler.shuffle(indexes)
        cut = round(len(indexes) * test_size)
        test += indexes[:cut]
        train += indexes[cut:]
    return train, test


def fit(features, labels, rows):
    """Return the mean feature vector of each label over rows."""
    sums, counts = {}, defaultdict(int)
    for index in rows:
        label = labels[index]
        total = sums.setdefault(label, [0.0] * len(features[index]))
        for column, value in enumerate(features[index]):
            total[column] += value
        counts[label] += 1
    return {
        label: [value / counts[label] for value in total]
        for label, total in sums.items()
    }


def predict(centroids, vector):
    return min(
        centroids, key=lambda label: math.dist(centroids[label], vector)
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    path = find_csv()
    features, labels = load(path)
    print(f"loaded {len(labels)} rows from {path.name}", flush=True)

    train, test = split(labels, args.test_size, args.seed)
    centroids = fit(features, labels, train)
    print(f"fitted {len(centroids)} centroids on {len(train)} rows")
    hits = sum(predict(centroids, features[i]) == labels[i] for i in test)
    accuracy = hits / len(test) if test else 0.0
    print(f"held-out accuracy: {accuracy:.4f} on {len(test)} rows")

    model_dir = Path(os.environ.get("SM_MODEL_DIR", "model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / "centroids.json", "w") as handle:
        json.dump({str(k): v for k, v in sorted(centroids.items())}, handle)
    metrics = {"accuracy": round(accuracy, 4), "test_rows": len(test)}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"saved centroids.json and metrics.json to {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
