"""Export scikit-learn's bundled handwritten digits to data/digits.csv.

The digits (1,797 8x8 images, 16 grey levels) ship inside scikit-learn, so
this needs no network. The CSV is committed; rerun this only to rebuild it:

    python examples/digits/make_dataset.py
"""

# An example script reports progress on stdout.
# ruff: noqa: T201

import csv
import sys
from pathlib import Path

from sklearn.datasets import load_digits

TARGET = Path(__file__).resolve().parent / "data" / "digits.csv"


def main() -> int:
    digits = load_digits()
    header = [f"pixel_{index}" for index in range(digits.data.shape[1])]
    header.append("label")

    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with open(TARGET, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row, label in zip(digits.data, digits.target, strict=True):
            writer.writerow([int(value) for value in row] + [int(label)])

    print(f"wrote {len(digits.target)} rows to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
