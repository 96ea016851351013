"""A fresh PostgreSQL schema per test, on the server .ci/run starts.

PDTRAIN_TEST_DATABASE_URL names the test database. Without it the
PostgreSQL variants of the tests are skipped, except under CI (CI set),
where a missing server is a failure instead.
"""

import contextlib
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

URL_ENV = "PDTRAIN_TEST_DATABASE_URL"


def database_url() -> str:
    """Return the test server's URL, or skip (fail under CI) without it."""
    url = os.environ.get(URL_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{URL_ENV} is not set; .ci/run starts PostgreSQL")
    pytest.skip(f"{URL_ENV} is not set; PostgreSQL tests skipped")


@contextlib.contextmanager
def fresh_schema():
    """Yield a URL whose connections use a new, empty schema."""
    base = make_url(database_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
