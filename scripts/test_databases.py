"""Run the test suite once per database: SQLite, PostgreSQL and MariaDB.

SQLite always runs. PostgreSQL and MariaDB run when their server answers (URLs from
TEST_POSTGRES_URL / TEST_MARIADB_URL, defaulting to this machine's 127.0.0.1 servers). Outside CI
an unreachable server is skipped with the reason; under CI=true it is a failure, because a green
run must mean the suite ran on all three.

Extra arguments go to pytest, e.g. ``python scripts/test_databases.py -k stream_writer -x``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parent.parent
DATABASES = {
    "sqlite": None,
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/archive"),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/archive"),
}
NO_TESTS_COLLECTED = 5


def unreachable_reason(name: str, url: str | None) -> str | None:
    """Why the server cannot be used, or None when it answers."""
    if url is None:
        return None
    config = dj_database_url.parse(url)
    try:
        if name == "postgresql":
            import psycopg

            psycopg.connect(
                host=config["HOST"],
                port=config["PORT"] or 5432,
                user=config["USER"],
                password=config["PASSWORD"] or None,
                dbname="postgres",
                connect_timeout=5,
            ).close()
        else:
            import MySQLdb

            MySQLdb.connect(
                host=config["HOST"],
                port=int(config["PORT"] or 3306),
                user=config["USER"],
                password=config["PASSWORD"] or "",
                connect_timeout=5,
            ).close()
    except ImportError as exc:
        return f"its Python driver is not installed ({exc})"
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the answer
        return f"{url} does not answer: {exc}"
    return None


def main(pytest_args: list[str]) -> int:
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    results: list[tuple[str, str]] = []
    failed = False
    for name, url in DATABASES.items():
        reason = unreachable_reason(name, url)
        if reason is not None:
            if in_ci:
                results.append((name, f"FAILED: {reason} (CI=true: every database must run)"))
                failed = True
            else:
                results.append((name, f"skipped: {reason}"))
            continue
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if url is not None:
            env["DATABASE_URL"] = url
        print(f"\n===== tests on {name} =====", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
        elapsed = f"{time.monotonic() - started:.0f} s"
        if code == 0:
            results.append((name, f"passed in {elapsed}"))
        elif code == NO_TESTS_COLLECTED and pytest_args:
            # A selection (-k, a path) that matches nothing on this database is not a failure.
            results.append((name, "no tests matched the selection"))
        else:
            what = "no tests collected" if code == NO_TESTS_COLLECTED else f"pytest exit {code}"
            results.append((name, f"FAILED: {what} after {elapsed}"))
            failed = True
    print("\n===== summary =====")
    for name, outcome in results:
        print(f"{name:>10}: {outcome}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
