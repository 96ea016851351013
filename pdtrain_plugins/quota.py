"""The quota command: storage used against the account's limits."""

from cliff import columns as cliff_columns

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
    "largest",
)
LARGEST_COUNT = 5


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
    """Show storage used by datasets and bundles against the limits.

    Sizes are bytes in machine formats and binary units in tables. The
    largest column lists the biggest versions, the first to delete when
    space runs out.
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
                    LargestColumn(largest.get(kind) or []),
                )
            )
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
