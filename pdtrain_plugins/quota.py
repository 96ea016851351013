"""The quota command: storage used against the account's limits."""

from pdtrain_core import command, formatting

GIB = 1024**3
MIB = 1024**2
COLUMNS = (
    "kind",
    "used",
    "limit",
    "percent",
    "count",
    "max_count",
    "max_item_size",
)


def _bytes(value, unit):
    return None if value is None else int(round(float(value) * unit))


class ShowQuota(command.Lister):
    """Show storage used by datasets and bundles against the limits.

    Sizes are bytes in machine formats and binary units in tables.
    """

    def take_action(self, parsed_args):
        quota = self.client.get_quota()
        limits = quota.get("limits") or {}
        # NOTE: the contract names sizes *_gb and *_mb; they are read as
        # GiB and MiB (1024-based), matching how the tables print them.
        item_limits = {
            "datasets": _bytes(limits.get("max_single_dataset_size_gb"), GIB),
            "bundles": _bytes(limits.get("max_single_bundle_size_mb"), MIB),
        }
        rows = []
        for kind in ("datasets", "bundles"):
            usage = quota.get(kind)
            if not usage:
                continue
            rows.append(
                (
                    kind,
                    formatting.SizeColumn(
                        _bytes(usage.get("current_storage_gb"), GIB)
                    ),
                    formatting.SizeColumn(
                        _bytes(usage.get("max_storage_gb"), GIB)
                    ),
                    usage.get("storage_percentage_used"),
                    usage.get("current_count"),
                    usage.get("max_count"),
                    formatting.SizeColumn(item_limits[kind]),
                )
            )
        return COLUMNS, rows
