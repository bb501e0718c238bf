"""Benchmarks, run with ``python -m bench`` (see ``bench/README.md``).

Helpers shared by the benchmark modules: Django setup against a throwaway
database, and the ``Figure`` a benchmark reports.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    """One measured figure, with its target and the baselines measured in the same run."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        status = "" if self.met is None else (" [target met]" if self.met else " [TARGET MISSED]")
        out = [
            f"{self.name}: {self.value:,.0f} {self.unit}{f'  (target {self.target})' if self.target else ''}{status}"
        ]
        out += [f"    {value:.3f}x {name}" for name, value in self.ratios.items()]
        out += [f"    {note}" for note in self.notes]
        return out


_database_ready = False


def setup_django() -> None:
    """Configure Django with the test settings (``DATABASE_URL`` still picks the database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


def bench_database() -> str:
    """Create (once per run) a fresh, migrated test database and point Django at it; returns its vendor."""
    global _database_ready
    setup_django()
    from django.db import connection

    if not _database_ready:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        _database_ready = True
    return connection.vendor


def teardown_database() -> None:
    global _database_ready
    if _database_ready:
        from django.db import connection

        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
        _database_ready = False


def benchmark_notice(*, officer, categories: list[str]):
    """The published notice benchmarks capture under: the current one, or a first one made by ``officer``."""
    from django.utils import timezone

    from consent.models import ConsentNotice

    current = ConsentNotice.objects.filter(status=ConsentNotice.Status.PUBLISHED).order_by("-version").first()
    if current is not None:
        return current
    return ConsentNotice.objects.create(
        version=1,
        status=ConsentNotice.Status.PUBLISHED,
        title="Benchmark notice",
        summary="Benchmark.",
        purposes=[{"id": "agent-training", "description": "Benchmark."}],
        categories=categories,
        retention_days={c: 30 for c in categories},
        access="-",
        rights="-",
        contact="-",
        created_by=officer,
        published_by=officer,
        published_at=timezone.now(),
    )


def run_in_processes(target, args_list: list[tuple]) -> float:
    """Run ``target(*args, barrier=...)`` in one forked process per args tuple; returns the seconds they took.

    Each process prepares, then waits on the barrier; the clock starts when
    all are ready and stops when the last one exits.
    """
    import multiprocessing
    import time

    from django.db import connections

    connections.close_all()  # children must not share the parent's connection
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(args_list) + 1)
    processes = [context.Process(target=target, args=args, kwargs={"barrier": barrier}) for args in args_list]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    if any(p.exitcode for p in processes):
        raise RuntimeError(f"a {target.__name__} process failed")
    return elapsed


def main_standalone(run) -> None:
    """``python -m bench.<module>``: run one benchmark module, print its figures, exit 1 on a missed target."""
    import sys

    try:
        figures = run()
    finally:
        teardown_database()
    for figure in figures:
        print("\n".join(figure.lines()))
    sys.exit(0 if all(f.met is not False for f in figures) else 1)
