"""Command line: simulate one or more employees at once, each with its own device, one thread each.

    python -m capture_client --url http://127.0.0.1:8000 --username alice --password ... --minutes 5

or run as the one device enrolled on the portal's capture devices page, with
the secret shown there saved in a file only you can read:

    python -m capture_client --url https://consent.example.com --device-secret-file ~/.capture/device-secret

``manage.py simulate_capture`` takes the same options and runs the same code.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from capture_client.protocol import CaptureClient, FatalError, log


def wait_for_server(url: str, seconds: float) -> None:
    """Block until the server answers its public key set, or raise ``FatalError`` after ``seconds``."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/.well-known/jwks.json", timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.time() > deadline:
                raise FatalError(f"{url} did not come up within {seconds:.0f} s") from None
            time.sleep(1)


def add_arguments(parser: argparse.ArgumentParser, *, default_password: str | None = None) -> None:
    """The client's options; shared by ``python -m capture_client`` and ``manage.py simulate_capture``."""
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", action="append", help="repeat to simulate several employees")
    parser.add_argument(
        "--device-secret-file",
        type=Path,
        help="run as the device enrolled on the portal: a file holding the secret it showed (no username needed)",
    )
    parser.add_argument("--password", default=default_password, help="the same for every --username")
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument("--minutes", type=float, default=1.0)
    duration.add_argument("--continuous", action="store_true")
    parser.add_argument("--batches", type=int, help="stop after this many uploads per employee")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between uploads")
    parser.add_argument("--wait", type=float, default=0.0, help="wait this long for the server to come up")
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument("--state-dir", type=Path, help="keep each employee's device secret here and reuse it")
    parser.add_argument("--seed", type=int)


def main(argv: list[str] | None = None, *, default_password: str | None = None) -> int:
    """Parse the command line and simulate; the exit status of ``simulate_employees``."""
    parser = argparse.ArgumentParser(prog="python -m capture_client", description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_password=default_password)
    args = parser.parse_args(argv)
    if args.device_secret_file is not None:
        if args.username:
            parser.error("--device-secret-file runs the one device it names; leave out --username")
        try:
            args.device_secret = read_device_secret(args.device_secret_file)
        except FatalError as error:
            parser.error(str(error))
        args.username = ["device"]
    elif not args.username:
        parser.error("give --device-secret-file (a device enrolled on the portal) or --username and --password")
    elif not args.password:
        parser.error("--password is required with --username")
    return simulate_employees(args)


def read_device_secret(path: Path) -> str:
    """The secret in ``path``: one line, as copied from the portal (surrounding blanks ignored)."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise FatalError(f"cannot read the device secret file {path}: {error.strerror}") from None
    secret = text.strip()
    if not secret or any(c.isspace() for c in secret):
        raise FatalError(f"{path} should hold the device secret alone, on one line")
    return secret


def simulate_employees(args: argparse.Namespace) -> int:
    """Simulate every ``--username`` at once, one thread each; 0 when all of them ran to the end."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s capture %(message)s")
    if args.wait:
        wait_for_server(args.url, args.wait)
    seconds = None if args.continuous else args.minutes * 60
    results: dict[str, dict | str] = {}

    def simulate(username: str, index: int) -> None:
        client = CaptureClient(
            args.url,
            username=username,
            password=args.password or "",
            gzip_bodies=not args.no_gzip,
            seed=None if args.seed is None else args.seed + index,
            state_file=args.state_dir / f"{username}.json" if args.state_dir else None,
            device_secret=getattr(args, "device_secret", None),
        )
        try:
            results[username] = client.run(seconds=seconds, batches=args.batches, interval=args.interval)
        except FatalError as error:
            log.error("%s: %s", username, error)
            results[username] = str(error)

    threads = [threading.Thread(target=simulate, args=(u, i), daemon=True) for i, u in enumerate(args.username)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for username, result in results.items():
        log.info("%s: %s", username, result)
    return 0 if all(isinstance(r, dict) for r in results.values()) else 1
