#!/usr/bin/env bash
# Train a model with pdtrain in a CI job and download its artifacts.
#
# Uploads a dataset and a training bundle, creates a run, submits it,
# waits for it to end with its log on stderr, and downloads the
# artifacts. Ids are read with `-f value -c id` and outcomes from
# pdtrain's exit status, so no step parses text meant for people.
#
# Environment:
#   PDTRAIN_API_URL, PDTRAIN_API_KEY
#                   server and key; with neither set, pdtrain starts the
#                   local orchestrator
#   PDTRAIN_CI_DATASET       file or folder to upload
#                            (default: examples/digits/data/digits.csv)
#   PDTRAIN_CI_DATASET_NAME  dataset name (default: digits)
#   PDTRAIN_CI_BUNDLE        training code folder
#                            (default: examples/digits/bundle)
#   PDTRAIN_CI_BUNDLE_NAME   bundle name (default: digits-classifier)
#   PDTRAIN_CI_OUTPUT        artifacts go to OUTPUT/RUN_ID
#                            (default: pdtrain-artifacts)
#   PDTRAIN_CI_TIMEOUT       seconds to wait for the run (default: 3600)
#   PDTRAIN_CI_INTERVAL      seconds between status checks (default: 2)
#
# Arguments go to `pdtrain run create`, for example
#   train.sh --hyperparameter max-iter=2000 --name nightly
#
# Stdout carries one line: the folder holding the artifacts. When
# GITHUB_OUTPUT is set, run-id and artifacts-dir are written there too.
#
# Exit status (pdtrain's own codes, pdtrain_core/exitcodes.py):
#   0  the run completed and its artifacts are downloaded
#   3  the run failed
#   4  the run was stopped
#   5  the run did not end within PDTRAIN_CI_TIMEOUT; it is then stopped
#   1, 2 or another code: a pdtrain command failed (its error is on stderr)
set -euo pipefail

readonly RUN_FAILED=3
readonly RUN_STOPPED=4
readonly WAIT_TIMED_OUT=5

examples=$(cd "$(dirname "$0")/.." && pwd)
dataset_path=${PDTRAIN_CI_DATASET:-$examples/digits/data/digits.csv}
dataset_name=${PDTRAIN_CI_DATASET_NAME:-digits}
bundle_path=${PDTRAIN_CI_BUNDLE:-$examples/digits/bundle}
bundle_name=${PDTRAIN_CI_BUNDLE_NAME:-digits-classifier}
output=${PDTRAIN_CI_OUTPUT:-pdtrain-artifacts}
timeout=${PDTRAIN_CI_TIMEOUT:-3600}
interval=${PDTRAIN_CI_INTERVAL:-2}

step() { printf '==> %s\n' "$*" >&2; }

# Write name=value for later workflow steps when GitHub Actions runs us.
set_output() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"
    fi
}

step "Uploading dataset $dataset_name from $dataset_path"
# The value format prints one field per line: the id, then the version.
uploaded=$(pdtrain dataset upload "$dataset_path" \
    --name "$dataset_name" -f value -c id -c version)
dataset_id=${uploaded%%$'\n'*}
dataset_version=${uploaded##*$'\n'}

step "Uploading bundle $bundle_name from $bundle_path"
bundle_id=$(pdtrain bundle upload "$bundle_path" \
    --name "$bundle_name" --wait -f value -c id)

# Creating and submitting in two steps gives the run id even when the
# wait times out, so the run can be stopped rather than left running.
# Naming the version keeps a newer upload from another job out of the run.
dataset_ref="$dataset_id:$dataset_version"
step "Creating a run of bundle $bundle_id on dataset $dataset_ref"
run_id=$(pdtrain run create --bundle "$bundle_id" --dataset "$dataset_ref" \
    "$@" -f value -c id)
set_output run-id "$run_id"

step "Submitting run $run_id and waiting up to $timeout s"
status=0
pdtrain run submit "$run_id" --wait --logs --timeout "$timeout" \
    --interval "$interval" -f value -c status > /dev/null || status=$?

case $status in
    0) ;;
    "$RUN_FAILED" | "$RUN_STOPPED")
        step "Run $run_id did not complete; its log is above"
        exit "$status"
        ;;
    "$WAIT_TIMED_OUT")
        step "Stopping run $run_id after $timeout s"
        pdtrain run stop "$run_id" --yes > /dev/null ||
            step "Could not stop run $run_id; stop it by hand"
        exit "$status"
        ;;
    *)
        exit "$status"
        ;;
esac

artifacts_dir="$output/$run_id"
step "Downloading the artifacts of run $run_id to $artifacts_dir"
pdtrain artifacts download "$run_id" --output "$artifacts_dir" --extract \
    -f value -c file > /dev/null
set_output artifacts-dir "$artifacts_dir"
echo "$artifacts_dir"
