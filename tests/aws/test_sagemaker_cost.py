"""The estimated cost of SageMaker runs, from DescribeTrainingJob."""

import pytest

from pdtrain_orchestrator.executors.sagemaker_pricing import training_cost
from tests.aws import test_sagemaker_flow as flow
from tests.aws.conftest import REGION, set_job_status, training_jobs
from tests.aws.test_sagemaker_flow import (
    create_run,
    upload_inputs,
    wait_status,
)

# The flow tests' server and CLI fixtures, shared by name.
aws_server = flow.aws_server
aws_cli = flow.aws_cli


def _job(billable=None, instance_type="ml.m5.xlarge", count=1):
    job = {"ResourceConfig": {"InstanceType": instance_type}}
    if count is not None:
        job["ResourceConfig"]["InstanceCount"] = count
    if billable is not None:
        job["BillableTimeInSeconds"] = billable
    return job


def test_training_cost_multiplies_time_instances_price():
    # ml.m5.xlarge is 0.23 USD per hour in the price table.
    assert training_cost(_job(3600), "us-east-1") == pytest.approx(0.23)
    assert training_cost(_job(1800, count=4), "us-east-1") == pytest.approx(
        0.46
    )


@pytest.mark.parametrize(
    "job, region",
    [
        (_job(None), "us-east-1"),
        (_job(3600, instance_type="ml.unknown.large"), "us-east-1"),
        (_job(3600), "eu-west-1"),
    ],
)
def test_training_cost_unknown_is_none(job, region):
    assert training_cost(job, region) is None


def test_sagemaker_spot_run_reports_cost(aws_cli, bundle_dir, csv_file):
    upload_inputs(aws_cli, bundle_dir, csv_file)
    run = create_run(aws_cli, "--instance-type", "ml.m5.xlarge", "--spot")
    name = f"pdtrain-{run['id']}"
    set_job_status(name, "InProgress", "Training")
    wait_status(aws_cli, run["id"], "running")
    job = training_jobs()[name]
    # Spot savings are already in the billable time: 900 of 3600 s.
    job.training_time_in_seconds = 3600
    job.billable_time_in_seconds = 900
    set_job_status(name, "Completed")

    done = wait_status(aws_cli, run["id"], "completed")
    table = aws_cli("run", "show", run["id"], "-c", "total_cost_usd")

    assert REGION == "us-east-1"
    assert done["spot_instances"] is True
    assert done["total_cost_usd"] == pytest.approx(900 * 0.23 / 3600)
    assert "$0.06" in table.stdout


def test_sagemaker_run_without_billing_has_no_cost(
    aws_cli, bundle_dir, csv_file
):
    upload_inputs(aws_cli, bundle_dir, csv_file)
    run = create_run(aws_cli)
    set_job_status(f"pdtrain-{run['id']}", "Completed")

    done = wait_status(aws_cli, run["id"], "completed")

    assert done["total_cost_usd"] is None
