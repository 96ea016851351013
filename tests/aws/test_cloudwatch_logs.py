"""CloudWatch Logs reading: positions, restarts, same-millisecond lines."""

import pytest

from pdtrain_orchestrator import db, migrate
from pdtrain_orchestrator.executors import cloudwatch, sagemaker_logs
from pdtrain_orchestrator.models import Bundle, LogEvent, Run
from tests.aws.conftest import client, now_ms, put_log_events

JOB = "pdtrain-job1"


@pytest.fixture
def logs(moto):
    return client("logs", moto)


def _messages(lines):
    return [line.message for line in lines]


def test_log_reader_returns_nothing_before_streams_exist(logs):
    positions = {}

    assert cloudwatch.read_new_lines(logs, JOB, positions) == []
    assert positions == {}


def test_log_reader_resumes_after_restart_without_repeats(moto, logs):
    stamp = now_ms()
    stream = f"{JOB}/algo-1-1733325158"
    put_log_events(moto, stream, [(stamp, f"a{i}") for i in range(5)])
    positions = {}
    first = cloudwatch.read_new_lines(logs, JOB, positions)
    put_log_events(moto, stream, [(stamp, "b0"), (stamp + 1, "b1")])

    # A new process starts from the stored position only.
    saved = cloudwatch.StreamPosition(**vars(positions[stream]))
    second = cloudwatch.read_new_lines(logs, JOB, {stream: saved})

    assert _messages(first) == [f"a{i}" for i in range(5)]
    assert _messages(second) == ["b0", "b1"]


def test_log_reader_resumes_by_timestamp_when_token_expired(moto, logs):
    stamp = now_ms()
    stream = f"{JOB}/algo-1-1733325158"
    put_log_events(moto, stream, [(stamp, "x0"), (stamp, "x1"), (stamp, "x2")])
    put_log_events(moto, stream, [(stamp + 5, "x3")])
    # Two of the three lines at `stamp` were read before; the token the
    # reader kept is no longer accepted.
    position = cloudwatch.StreamPosition(stream, "f/expired", stamp, 2)

    lines = cloudwatch.read_new_lines(logs, JOB, {stream: position})

    assert _messages(lines) == ["x2", "x3"]
    assert position.last_timestamp_ms == stamp + 5
    assert position.seen_at_last == 1


def test_log_reader_merges_instances_by_time(moto, logs):
    stamp = now_ms()
    put_log_events(
        moto, f"{JOB}/algo-1-1", [(stamp, "one-a"), (stamp + 20, "one-b")]
    )
    put_log_events(moto, f"{JOB}/algo-2-1", [(stamp + 10, "two-a")])
    put_log_events(moto, "pdtrain-job10/algo-1-1", [(stamp, "other job")])

    lines = cloudwatch.read_new_lines(logs, JOB, {})

    assert _messages(lines) == ["one-a", "two-a", "one-b"]
    assert [line.host for line in lines] == ["algo-1", "algo-2", "algo-1"]


@pytest.fixture
def sessions(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    migrate.upgrade(engine)
    factory = db.make_sessionmaker(engine)
    with factory() as session:
        session.add(
            Bundle(
                id="bundle1",
                owner="alice",
                name="demo",
                version=1,
                s3_key="alice/bundles/x/demo.tar.gz",
                size_bytes=1,
                sha256="0" * 64,
                validation_status="ready",
                has_requirements_txt=False,
                entry_point="train.py",
                entry_point_verified=True,
                total_files=1,
            )
        )
        session.flush()
        session.add(
            Run(
                id="run1",
                owner="alice",
                execution_mode="sagemaker",
                bundle_id="bundle1",
                entry="train.py",
                instance_type="ml.m5.large",
            )
        )
        session.commit()
    yield factory
    engine.dispose()


def _stored(sessions):
    with sessions() as session:
        rows = session.query(LogEvent).order_by(LogEvent.id).all()
        return [(row.stream, row.message) for row in rows]


def test_stored_log_lines_survive_restart_once_each(moto, logs, sessions):
    stamp = now_ms()
    stream = f"{JOB}/algo-1-1"
    put_log_events(moto, stream, [(stamp, "l0"), (stamp, "l1")])
    first = sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)
    again = sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)
    put_log_events(moto, stream, [(stamp, "l2"), (stamp + 1, "l3")])
    # A fresh reader, as after a restart, with only the database.
    third = sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)

    assert (first, again, third) == (2, 0, 2)
    assert _stored(sessions) == [
        ("algo-1", "l0"),
        ("algo-1", "l1"),
        ("algo-1", "l2"),
        ("algo-1", "l3"),
    ]


def test_stored_log_lines_race_stores_them_once(
    moto, logs, sessions, monkeypatch
):
    stream = f"{JOB}/algo-1-1"
    put_log_events(moto, stream, ["r0", "r1"])
    sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)
    put_log_events(moto, stream, ["r2"])
    real_read = cloudwatch.read_new_lines

    def read_while_another_stores(client_, job, positions):
        lines = real_read(client_, job, positions)
        # Another process stores the same new line meanwhile.
        monkeypatch.setattr(sagemaker_logs, "read_new_lines", real_read)
        sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)
        return lines

    monkeypatch.setattr(
        sagemaker_logs, "read_new_lines", read_while_another_stores
    )
    late = sagemaker_logs.store_new_lines(sessions, logs, "run1", JOB)

    assert late == 0
    assert [message for _, message in _stored(sessions)] == [
        "r0",
        "r1",
        "r2",
    ]
