"""The quota command: storage used against the account's limits."""

import logging

from cliff import columns as cliff_columns

from pdtrain_core import command, formatting

LOG = logging.getLogger(__name__)

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
    "largest",
)
LARGEST_COUNT = 5
# Usage above this percentage of a limit earns a warning on stderr.
WARN_PERCENT = 80.0
KINDS = ("datasets", "bundles", "artifacts")


class PercentColumn(cliff_columns.FormattableColumn):
    """A percentage: "12.3%" in tables, the raw number elsewhere."""

    def human_readable(self):
        if self._value is None:
            return ""
        if 0 < self._value < 0.05:
            # "0.0%" would read as nothing used.
            return "<0.1%"
        return f"{self._value:.1f}%"


class LargestColumn(cliff_columns.FormattableColumn):
    """The largest items: "name vN (1.2 GiB)" lines in tables and
    [{id, name, version, size_bytes}] in machine formats."""

    def human_readable(self):
        return "\n".join(
            f"{item.get('name')} v{item.get('version')} "
            f"({formatting.human_size(item.get('size_bytes'))})"
            for item in self._value
        )

    def machine_readable(self):
        return list(self._value)


def _bytes(value, unit):
    return None if value is None else int(round(float(value) * unit))


class ShowQuota(command.Lister):
    """Show storage used by datasets, bundles and artifacts.

    One row per kind gives the storage used, its limit and the percentage
    used, the count and its limit where one applies, and the largest
    single item allowed. A last row, kind "total", adds up the storage of
    the kinds shown (it has no counts). Sizes are bytes and percentages
    plain numbers in machine formats; tables show binary units and "%".
    A warning goes to stderr when any kind is above 80% of its limit.
    The largest column lists the biggest versions, the first to delete
    when space runs out.
    """

    examples = (
        "pdtrain quota",
        "pdtrain quota -f json",
    )

    def take_action(self, parsed_args):
        quota = self.client.get_quota()
        limits = quota.get("limits") or {}
        # NOTE: the contract names sizes *_gb and *_mb; they are read as
        # GiB and MiB (1024-based), matching how the tables print them.
        item_limits = {
            "datasets": _bytes(limits.get("max_single_dataset_size_gb"), GIB),
            "bundles": _bytes(limits.get("max_single_bundle_size_mb"), MIB),
        }
        largest = quota.get("largest") or self._largest_from_lists()
        usages = {kind: quota[kind] for kind in KINDS if quota.get(kind)}
        rows = [
            _usage_row(
                kind,
                usage,
                item_limits.get(kind),
                largest.get(kind) or [],
            )
            for kind, usage in usages.items()
        ]
        rows.append(_total_row(usages.values()))
        _warn_if_full(usages)
        return COLUMNS, rows

    def _largest_from_lists(self) -> dict:
        """Rank the largest versions from the list endpoints.

        Servers of the published contract send no largest field.
        """
        bundles = [
            _item(b.get("id"), b.get("name"), b.get("version"), b)
            for b in self.client.list_bundles()
        ]
        datasets = [
            _item(d.get("id"), d.get("name"), v.get("version"), v)
            for d in self.client.list_datasets()
            for v in d.get("versions") or ()
        ]
        return {"bundles": _top(bundles), "datasets": _top(datasets)}


def _item(item_id, name, version, sized) -> dict:
    return {
        "id": item_id,
        "name": name,
        "version": version,
        "size_bytes": sized.get("size_bytes") or 0,
    }


def _top(items: list) -> list:
    ranked = sorted(items, key=lambda item: -item["size_bytes"])
    return ranked[:LARGEST_COUNT]


def _usage_row(kind, usage, item_limit, largest) -> tuple:
    return (
        kind,
        formatting.SizeColumn(_bytes(usage.get("current_storage_gb"), GIB)),
        formatting.SizeColumn(_bytes(usage.get("max_storage_gb"), GIB)),
        PercentColumn(usage.get("storage_percentage_used")),
        usage.get("current_count"),
        usage.get("max_count"),
        formatting.SizeColumn(item_limit),
        LargestColumn(largest),
    )


def _total_row(usages) -> tuple:
    """Add up storage used and limits; counts of kinds don't add up."""
    used = sum(_bytes(u.get("current_storage_gb"), GIB) or 0 for u in usages)
    limits = [_bytes(u.get("max_storage_gb"), GIB) for u in usages]
    limit = None if None in limits else sum(limits)
    percent = 100.0 * used / limit if limit else None
    return (
        "total",
        formatting.SizeColumn(used),
        formatting.SizeColumn(limit),
        PercentColumn(percent),
        None,
        None,
        formatting.SizeColumn(None),
        LargestColumn([]),
    )


def _warn_if_full(usages: dict) -> None:
    """Log one warning naming every kind above WARN_PERCENT of its limit."""
    full = [
        f"{kind} {usage['storage_percentage_used']:.1f}%"
        for kind, usage in usages.items()
        if (usage.get("storage_percentage_used") or 0) > WARN_PERCENT
    ]
    full += [
        f"{kind} count {usage['current_count']} of {usage['max_count']}"
        for kind, usage in usages.items()
        if usage.get("max_count")
        and usage.get("current_count", 0) * 100
        > WARN_PERCENT * usage["max_count"]
    ]
    if full:
        LOG.warning(
            "Usage above %.0f%% of its limit: %s; delete old datasets "
            "or dataset versions, or ask for a higher limit",
            WARN_PERCENT,
            ", ".join(full),
        )
