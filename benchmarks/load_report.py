"""Summaries and checks of benchmarks/load.py: latencies, isolation, SQLite."""

import sqlite3
import statistics
import sys
from pathlib import Path


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarize(recorder, wall):
    every = [v for values in recorder.latencies.values() for v in values]
    operations = {
        name: {
            "count": len(values),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
        }
        for name, values in sorted(recorder.latencies.items())
    }
    follows = recorder.follow_seconds
    streams = dict(recorder.streams)
    if follows:
        streams["follow_p50_s"] = round(statistics.median(follows), 2)
        streams["follow_p99_s"] = round(percentile(follows, 0.99), 2)
    return {
        "requests": len(every),
        "streams": streams,
        "seconds": round(wall, 1),
        "requests_per_second": round(len(every) / wall, 1),
        "p50_ms": round(statistics.median(every) * 1000, 1),
        "p99_ms": round(percentile(every, 0.99) * 1000, 1),
        "errors": recorder.errors[:20],
        "error_count": len(recorder.errors),
        "operations": operations,
    }


def check_isolation(url, workers):
    """Return mismatches between what each owner made and what it lists."""
    problems = []
    for worker in workers:
        session = worker.session
        runs = session.get(f"{url}/v1/runs?limit=1", timeout=60)
        bundles = session.get(f"{url}/v1/bundles?limit=1", timeout=60)
        datasets = session.get(f"{url}/v1/datasets?limit=1", timeout=60)
        seen = {
            "runs": int(runs.headers["X-Total-Count"]),
            "bundles": int(bundles.headers["X-Total-Count"]),
        }
        versions = datasets.json()["items"]
        seen["dataset_versions"] = (
            len(versions[0]["versions"]) if versions else 0
        )
        for name, count in seen.items():
            if count != worker.created[name]:
                problems.append(
                    f"client {worker.number}: {name} made "
                    f"{worker.created[name]}, listed {count}"
                )
    return problems


def check_database(home: Path) -> dict:
    """Return SQLite's integrity_check and foreign_key_check rows."""
    connection = sqlite3.connect(home / "orchestrator.db")
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        connection.close()
    return {
        "integrity_check": [row[0] for row in integrity],
        "foreign_key_check": [list(row) for row in foreign],
    }


def database_problems(checks: dict) -> list[str]:
    problems = []
    if checks["integrity_check"] != ["ok"]:
        problems.append(f"integrity_check: {checks['integrity_check']}")
    problems += [f"foreign key: {row}" for row in checks["foreign_key_check"]]
    return problems


def print_table(result):
    """Write the summary as a plain-text table to stdout."""
    lines = [
        f"{'phase':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    ]
    for phase in ("anchor", "load"):
        row = result[phase]
        lines.append(
            f"{phase:<8} {row['requests_per_second']:>8} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8} {row['error_count']:>7}"
        )
    lines.append(f"p50 ratio (load / anchor): {result['p50_ratio']}x")
    lines.append("operation            count   p50 ms   p99 ms")
    for name, row in result["load"]["operations"].items():
        lines.append(
            f"{name:<20} {row['count']:>5} {row['p50_ms']:>8} "
            f"{row['p99_ms']:>8}"
        )
    streams = result["load"]["streams"]
    if streams:
        lines.append(
            "log streams followed to done: {followed}, lines {lines}, "
            "lost {lost}, repeated {repeated}, follow p50 {p50} s, "
            "p99 {p99} s".format(
                followed=streams.get("followed", 0),
                lines=streams.get("lines", 0),
                lost=streams.get("lost", 0),
                repeated=streams.get("repeated", 0),
                p50=streams.get("follow_p50_s"),
                p99=streams.get("follow_p99_s"),
            )
        )
    database = result["database"]
    lines.append(f"isolation problems: {result['isolation_problems'] or 0}")
    lines.append(
        f"integrity_check: {', '.join(database['integrity_check'])}; "
        f"foreign_key_check rows: {len(database['foreign_key_check'])}"
    )
    for error in result["load"]["errors"]:
        lines.append(f"error: {error}")
    sys.stdout.write("\n".join(lines) + "\n")
