"""Run the test suite on SQLite, PostgreSQL and MariaDB, the three passes side by side.

The SQLite pass runs every test. The PostgreSQL and MariaDB passes run the tests whose outcome
can depend on the database (``tests/conftest.py`` selects them): the others test files, bytes
and processes, and running them three times proves nothing more.

The passes run at the same time, each with its own pytest-xdist workers (``--workers``), and
each pass's output is printed whole when it ends; the summary gives each pass's time and the
wall time of the whole run.

SQLite always runs. PostgreSQL and MariaDB run when their server answers (URLs from
TEST_POSTGRES_URL / TEST_MARIADB_URL, defaulting to this machine's 127.0.0.1 servers). Outside CI
an unreachable server is skipped with the reason; under CI=true it is a failure, because a green
run must mean the suite ran on all three.

Options before ``--`` are the runner's; the rest go to pytest, e.g.
``python scripts/test_databases.py -- -k stream_writer -x``. ``--sequential`` runs one pass
after another (quieter output while debugging); ``--only sqlite`` runs one pass.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dj_database_url

ROOT = Path(__file__).resolve().parent.parent
DATABASES = {
    "sqlite": None,
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/archive"),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/archive"),
}
#: pytest-xdist workers per pass. SQLite runs every test, so it gets the most.
DEFAULT_WORKERS = {"sqlite": 3, "postgresql": 2, "mariadb": 2}
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


@dataclass
class Pass:
    """One database's pytest run."""

    name: str
    url: str | None
    workers: int
    log: Path
    process: subprocess.Popen | None = None
    started: float = 0.0
    elapsed: float = 0.0

    def start(self, pytest_args: list[str]) -> None:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if self.url is not None:
            env["DATABASE_URL"] = self.url
        # The slowest tests of each pass are listed, so that a slow suite shows where it is slow.
        command = [sys.executable, "-m", "pytest", "--durations=15", *pytest_args]
        if self.workers > 1:
            # loadfile keeps a module's tests on one worker, so module-scoped fixtures are
            # built once, as in a run without workers.
            command += ["-n", str(self.workers), "--dist", "loadfile"]
        self.started = time.monotonic()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)

    def poll(self) -> int | None:
        """The pass's exit status once it has ended (its time taken then), else None."""
        assert self.process is not None
        code = self.process.poll()
        if code is not None and not self.elapsed:
            self.elapsed = time.monotonic() - self.started
        return code


def outcome(code: int, elapsed: float, selection: bool) -> tuple[str, bool]:
    """What a pass's exit status means, and whether it fails the run."""
    if code == 0:
        return f"passed in {elapsed:.0f} s", False
    if code == NO_TESTS_COLLECTED and selection:
        # A selection (-k, a path) that matches nothing on this database is not a failure.
        return "no tests matched the selection", False
    what = "no tests collected" if code == NO_TESTS_COLLECTED else f"pytest exit {code}"
    return f"FAILED: {what} after {elapsed:.0f} s", True


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The runner's options, and the arguments for pytest (those after ``--``, or unknown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequential", action="store_true", help="one pass after another")
    parser.add_argument("--only", choices=list(DATABASES), action="append", help="run this pass")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="pytest-xdist workers per pass (default: sqlite 3, the others 2; 1 = no xdist)",
    )
    if "--" in argv:
        split = argv.index("--")
        options, rest = parser.parse_args(argv[:split]), argv[split + 1 :]
    else:
        options, rest = parser.parse_known_args(argv)
    return options, rest


def main(argv: list[str]) -> int:
    options, pytest_args = parse(argv)
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    results: list[tuple[str, str]] = []
    failed = False
    logs = Path(tempfile.mkdtemp(prefix="test-databases-"))
    passes: list[Pass] = []
    for name, url in DATABASES.items():
        if options.only and name not in options.only:
            continue
        reason = unreachable_reason(name, url)
        if reason is not None:
            if in_ci:
                results.append((name, f"FAILED: {reason} (CI=true: every database must run)"))
                failed = True
            else:
                results.append((name, f"skipped: {reason}"))
            continue
        workers = options.workers if options.workers is not None else DEFAULT_WORKERS[name]
        passes.append(Pass(name, url, workers, logs / f"{name}.log"))

    began = time.monotonic()
    batches = [[p] for p in passes] if options.sequential else [passes]
    for batch in batches:
        for one in batch:
            print(f"===== started the {one.name} pass ({one.workers} workers) =====", flush=True)
            one.start(pytest_args)
        running = list(batch)
        while running:
            time.sleep(0.5)
            for one in list(running):
                code = one.poll()
                if code is None:
                    continue
                running.remove(one)
                print(f"\n===== tests on {one.name} =====", flush=True)
                sys.stdout.write(one.log.read_text(errors="replace"))
                text, bad = outcome(code, one.elapsed, bool(pytest_args))
                results.append((one.name, text))
                failed = failed or bad
    wall = time.monotonic() - began

    print("\n===== summary =====")
    for name, text in results:
        print(f"{name:>10}: {text}")
    print(f"{'wall time':>10}: {wall:.0f} s ({wall / 60:.1f} min)")
    for one in passes:
        one.log.unlink(missing_ok=True)
    logs.rmdir()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
