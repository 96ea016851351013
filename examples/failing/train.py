"""Print a few progress lines, then fail the way a broken script does.

Used by tests and to see how a failed run reads: the run ends failed with
exit code 1 and a reason quoting the ValueError below.
"""

# An example script reports progress on stdout.
# ruff: noqa: T201

import sys
import time


def main() -> None:
    for epoch in range(1, 4):
        print(f"epoch {epoch}: loss {1.0 / epoch:.3f}", flush=True)
        time.sleep(0.05)
    print("about to read the labels", file=sys.stderr, flush=True)
    raise ValueError("labels column 'target' not found in the input data")


if __name__ == "__main__":
    main()
