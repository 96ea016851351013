#!/usr/bin/env bash
# Train the digits classifier end to end through the pdtrain CLI.
#
# Uses whatever pdtrain is configured to talk to; on a fresh machine that is
# the embedded local orchestrator, which the first command starts. Writes
# the downloaded artifacts under demo-output/ and exits non-zero on any
# failure, including a run that does not complete.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${DEMO_OUTPUT:-demo-output}
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n==> %s\n' "$*" >&2; }

step "Uploading the digits dataset (1797 labelled 8x8 images as CSV)"
pdtrain dataset upload "$here/data/digits.csv" --name digits \
    --description "scikit-learn handwritten digits, 64 pixels and a label"

step "Uploading the training code"
pdtrain bundle upload "$here/bundle" --name digits-classifier --wait

step "Creating and submitting a run, waiting for it to finish"
run_id=$(pdtrain run create --bundle digits-classifier --dataset digits \
    --hyperparameter max-iter=2000 --hyperparameter test-size=0.25 \
    --name digits-demo --submit --wait -f value -c id)
echo "Run $run_id completed" >&2

step "Training log"
pdtrain logs "$run_id" --follow --lines 1000

step "Downloading artifacts"
pdtrain artifacts download "$run_id" --output "$out"
mkdir -p "$out/model"
tar -xzf "$out/model.tar.gz" -C "$out/model"
ls -l "$out" "$out/model" >&2

step "Held-out accuracy"
python3 - "$out/model/metrics.json" <<'PY'
import json
import sys

with open(sys.argv[1]) as handle:
    metrics = json.load(handle)
print(f"accuracy: {metrics['accuracy']:.4f}")
PY
