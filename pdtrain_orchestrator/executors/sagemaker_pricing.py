"""Estimate what a finished SageMaker training job cost.

DescribeTrainingJob reports BillableTimeInSeconds per instance. For a
managed spot job that figure is already reduced by the spot discount
(AWS documents the savings as 1 - BillableTimeInSeconds /
TrainingTimeInSeconds), so the estimate is

    BillableTimeInSeconds * InstanceCount * on-demand price / 3600

for spot and on-demand jobs alike.
"""

import logging

LOG = logging.getLogger(__name__)

PRICED_REGION = "us-east-1"

# NOTE: approximate on-demand prices of SageMaker training instances in
# us-east-1, USD per instance-hour, the 2024 figures of the SageMaker
# pricing page (https://aws.amazon.com/sagemaker/pricing/). They were
# written down without checking the live page, and AWS changes them, so
# the cost is an estimate. Other regions and types are priced unknown.
TRAINING_PRICES_USD_PER_HOUR = {
    "ml.m5.large": 0.115,
    "ml.m5.xlarge": 0.23,
    "ml.m5.2xlarge": 0.461,
    "ml.m5.4xlarge": 0.922,
    "ml.m5.12xlarge": 2.765,
    "ml.m5.24xlarge": 5.53,
    "ml.c5.xlarge": 0.204,
    "ml.c5.2xlarge": 0.408,
    "ml.c5.4xlarge": 0.816,
    "ml.c5.9xlarge": 1.836,
    "ml.c5.18xlarge": 3.672,
    "ml.g4dn.xlarge": 0.736,
    "ml.g4dn.2xlarge": 0.94,
    "ml.g4dn.4xlarge": 1.505,
    "ml.g4dn.12xlarge": 4.89,
    "ml.g5.xlarge": 1.408,
    "ml.g5.2xlarge": 1.515,
    "ml.g5.4xlarge": 2.03,
    "ml.g5.12xlarge": 7.09,
    "ml.p3.2xlarge": 3.825,
    "ml.p3.8xlarge": 14.688,
    "ml.p3.16xlarge": 28.152,
    "ml.p4d.24xlarge": 37.688,
}


def hourly_price(region: str | None, instance_type: str | None):
    """Return the USD price of one instance-hour, or None if unknown."""
    if region != PRICED_REGION:
        return None
    return TRAINING_PRICES_USD_PER_HOUR.get(instance_type or "")


def training_cost(job: dict, region: str | None) -> float | None:
    """Return the estimated USD cost of a described job, or None.

    None means the job reports no billable time yet or its instance type
    or region has no price in the table.
    """
    billable = job.get("BillableTimeInSeconds")
    resources = job.get("ResourceConfig") or {}
    instance_type = resources.get("InstanceType")
    price = hourly_price(region, instance_type)
    if billable is None or price is None:
        LOG.debug(
            "No cost for job %s: billable seconds %s, price of %s in %s %s",
            job.get("TrainingJobName"),
            billable,
            instance_type,
            region,
            price,
        )
        return None
    count = resources.get("InstanceCount") or 1
    return round(billable * count * price / 3600, 4)
