"""``make run``: every process in the Procfile, then the address and the demo accounts.

The processes' start-up chatter scrolls by first; once the web server answers,
the address, the demo accounts and how to stop are printed last, where a
newcomer looks.  Ctrl-C (or SIGTERM) stops every process and exits 0, so
``make`` reports no error for an ordinary stop; a process that dies on its
own stops the others and makes this command fail with its exit code.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.environ import parse_procfile
from honcho.manager import Manager

from accounts.demo import DEMO_PASSWORD, PERSONAS, demo_employees

# Exit codes honcho gives itself when it was asked to stop.
_STOPPED_ON_REQUEST = {130, 143}


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local http URL we were given
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def banner(url: str) -> str:
    """What a newcomer needs once the site is up: where it is, who to sign in as, how to stop."""
    width = max(len(username) for username, *_ in PERSONAS) + 2
    lines = [
        "",
        "=" * 64,
        f"  The service is up: {url}",
        f"  API documentation: {url.rstrip('/')}/api/docs/",
        "",
        f"  Demo accounts (every password is {DEMO_PASSWORD}):",
    ]
    for username, roles, department, _first, _last in PERSONAS:
        lines.append(f"    {username:<{width}}{', '.join(roles):<18}{department}")
    lines.append(f"    ... and {len(demo_employees())} more employees, e.g. {demo_employees()[0][0]}")
    lines += ["", "  Stop everything with Ctrl-C.", "=" * 64, ""]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Run the web server, worker, beat and demo capture clients (the Procfile); print the URL once it is up."

    def add_arguments(self, parser):
        parser.add_argument("--procfile", default="Procfile", help="Procfile to run (default: ./Procfile).")
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the web process serves.")
        parser.add_argument(
            "--wait", type=int, default=180, help="Seconds to wait for the web server before saying it did not start."
        )

    def handle(self, *args, procfile: str, url: str, wait: int, **options):
        if not settings.DEBUG:
            raise CommandError(
                "run_demo starts the development stack with demo accounts; it refuses to run with DEBUG off."
            )
        path = Path(procfile)
        if not path.is_file():
            raise CommandError(f"No Procfile at {path.resolve()}.")
        manager = Manager()
        for name, command in parse_procfile(path.read_text()).processes.items():
            manager.add_process(name, command)
        threading.Thread(target=self._announce, args=(url, wait), daemon=True).start()
        # honcho installs its own SIGINT/SIGTERM handlers; put the caller's back afterwards.
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            manager.loop()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        if manager.returncode in _STOPPED_ON_REQUEST or manager.returncode is None:
            return
        if manager.returncode:
            raise CommandError(f"A process stopped with exit code {manager.returncode}; the others were stopped too.")

    def _announce(self, url: str, wait: int) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if _answers(url):
                sys.stdout.write(banner(url) + "\n")
                sys.stdout.flush()
                return
            time.sleep(1)
        sys.stderr.write(f"The web server did not answer at {url} within {wait} s; see its output above.\n")
