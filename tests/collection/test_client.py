"""The reference capture client, driven in-process against the real views (no sockets, no sleeping)."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client

import capture_client as capture
from capture_client import protocol
from collection.models import Batch, Device
from collection.schema import decode_batch
from consent.services import consent_withdraw
from tests.collection.conftest import TS0
from tests.conftest import PASSWORD as PASSWORD_FOR_TESTS

pytestmark = pytest.mark.django_db


class InProcessClient(capture.CaptureClient):
    """Sends through Django's test client; ``faults`` are answers to give instead of asking the server."""

    def __init__(self, *args, faults=None, **kwargs):
        super().__init__("http://testserver", *args, **kwargs)
        self.http = Client()
        self.faults = list(faults or [])
        self.calls: list[tuple[str, int]] = []
        self.pauses: list[float] = []

    def _pause(self, seconds, stop):
        self.pauses.append(seconds)

    def _send(self, method, path, data, headers):
        if self.faults and path == "/api/v1/collection/batches":
            fault = self.faults.pop(0)
            if isinstance(fault, Exception):
                self.calls.append((path, 0))
                raise fault
            self.calls.append((path, fault.status))
            return fault
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
        response = self.http.generic(method, path, data or b"", content_type=headers.get("Content-Type", ""), **meta)
        self.calls.append((path, response.status_code))
        body = json.loads(response.content) if response.content else {}
        return capture.Response(response.status_code, {k: v for k, v in response.items()}, body)


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(protocol.time, "sleep", slept.append)
    return slept


@pytest.fixture
def at_upload_time(consenting, time_machine):
    time_machine.move_to(TS0 + 60, tick=False)


def _client(**kwargs):
    return InProcessClient(username="alice", password=PASSWORD_FOR_TESTS, seed=7, **kwargs)


def test_the_session_generator_produces_valid_realistic_batches():
    session = capture.Session(apps=["com.microsoft.VSCode", "org.mozilla.firefox"], rng=random.Random(3))
    events = session.generate(TS0, TS0 + 120)
    body = json.dumps({"batch_id": "6f1c2b8e-1111-4aaa-8bbb-123456789abc", "schema": "capture/v1", "events": events})
    decoded = decode_batch(body.encode())
    kinds = {e["type"] for e in events}
    assert kinds >= {"mouse.move", "mouse.down", "mouse.up", "key.down", "key.up", "window.focus"}
    assert any(e.get("field", {}).get("secure") for e in events), "a password is typed"
    assert len(decoded.events) == len(events)


def test_it_enrolls_fetches_a_token_and_uploads(at_upload_time, no_sleep):
    client = _client()
    stats = client.run(seconds=None, batches=3, interval=0)
    assert stats["batches"] == 3 and stats["accepted"] > 0
    assert Batch.objects.count() == 3 and Device.objects.count() == 1
    assert client.policy["apps"] == ["com.microsoft.VSCode", "org.mozilla.firefox"]


def test_it_renews_the_token_before_it_expires(at_upload_time, time_machine):
    client = _client()
    client.enroll()
    client.ensure_token()
    first = client.token
    time_machine.move_to(TS0 + 60 + 600 - capture.RENEW_BEFORE_SECONDS + 1, tick=False)
    client.ensure_token()
    assert client.token != first


def test_it_retries_5xx_and_connection_errors_with_backoff_keeping_the_batch_id(at_upload_time, no_sleep):
    down = capture.Response(503, {}, {"error": "policy_unavailable"})
    client = _client(faults=[down, ConnectionResetError("reset"), down])
    client.enroll()
    answer = client.upload(
        [{"type": "mouse.move", "timestamp": TS0 + 30, "app": "com.microsoft.VSCode", "x": 1, "y": 2}]
    )
    assert answer["accepted"] == 1 and Batch.objects.get().batch_id.hex == answer["batch_id"].replace("-", "")
    assert len(no_sleep) == 3 and no_sleep[0] <= 1 <= no_sleep[1] <= 2 and no_sleep[2] <= 4
    assert client.stats["retries"] == 3


def test_it_waits_as_long_as_retry_after_says(at_upload_time, no_sleep):
    client = _client(faults=[capture.Response(429, {"Retry-After": "7"}, {"error": "rate_limited"})])
    client.enroll()
    client.upload([{"type": "mouse.move", "timestamp": TS0 + 30, "app": "com.microsoft.VSCode", "x": 1, "y": 2}])
    assert no_sleep == [7.0]


def test_consent_changed_fetches_a_new_token_and_withdrawn_stops(at_upload_time, no_sleep, consenting):
    client = _client()
    client.enroll()
    client.ensure_token()
    event = {"type": "mouse.move", "timestamp": TS0 + 30, "app": "com.microsoft.VSCode", "x": 1, "y": 2}
    consent_withdraw(employee=consenting, categories=["keystrokes"])
    old = client.token
    assert client.upload([event])["accepted"] == 1
    assert client.token != old
    consent_withdraw(employee=consenting)
    with pytest.raises(capture.StopCapture):
        client.upload([event])
    assert Batch.objects.count() == 1


def test_a_saved_device_is_reused(at_upload_time, tmp_path, no_sleep):
    state = tmp_path / "alice.json"
    _client(state_file=state).run(seconds=None, batches=1, interval=0)
    _client(state_file=state).run(seconds=None, batches=1, interval=0)
    assert Device.objects.count() == 1 and state.stat().st_mode & 0o777 == 0o600


@pytest.mark.django_db(transaction=True)
def test_the_management_command_runs_the_client_against_a_live_server(live_server, at_upload_time):
    from django.core.management import call_command

    from collection.models import EventChunk
    from tests.conftest import PASSWORD

    call_command(
        "simulate_capture",
        "--url",
        live_server.url,
        "--username",
        "alice",
        "--password",
        PASSWORD,
        "--batches",
        "2",
        "--interval",
        "0",
        "--seed",
        "3",
    )
    assert EventChunk.objects.filter(subject__employee__username="alice").exists()


def test_the_management_command_needs_a_password_outside_development(settings):
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError, match="--password is required"):
        call_command("simulate_capture", "--username", "alice")


def test_the_client_is_standard_library_only_and_runs_as_a_module():
    """It is what an employee's machine runs: nothing of Django or of the server's apps comes with it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    server = {
        "django",
        "rest_framework",
        "msgspec",
        "accounts",
        "audit",
        "collection",
        "config",
        "consent",
        "erasure",
        "signing",
    }
    probe = (
        f"import sys, capture_client\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(server)!r})))"
    )
    imported = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"
    usage = subprocess.run(
        [sys.executable, "-m", "capture_client", "--help"], cwd=root, capture_output=True, text=True, check=True
    )
    assert "--username" in usage.stdout and "python -m capture_client" in usage.stdout


def _paired_client(alice, **kwargs):
    """A client holding the secret of a device enrolled on the portal, as `--device-secret-file` gives it."""
    from collection.services import device_enroll

    _, secret = device_enroll(employee=alice, name="Alice's laptop", platform="macos")
    return InProcessClient(username="device", password="", seed=7, device_secret=secret, **kwargs), secret


def test_a_client_paired_with_a_portal_secret_uploads_without_signing_in(at_upload_time, alice, no_sleep):
    client, _ = _paired_client(alice)

    stats = client.run(seconds=None, batches=2, interval=0)

    assert stats["batches"] == 2 and stats["accepted"] > 0
    paths = {path for path, _ in client.calls}
    assert "/api/v1/auth/token" not in paths and "/api/v1/collection/devices" not in paths
    assert Device.objects.filter(employee=alice).count() == 1, "it used the portal's device, enrolled no other"
    assert Batch.objects.filter(device__name="Alice's laptop").count() == 2


def test_a_paired_client_stops_with_advice_when_its_device_is_revoked(at_upload_time, alice, no_sleep):
    from collection.services import device_revoke

    client, _ = _paired_client(alice)
    device_revoke(employee=alice, device=Device.objects.get(employee=alice))

    with pytest.raises(capture.FatalError, match="Enroll the device again on the portal"):
        client.run(seconds=None, batches=1, interval=0)
    assert Device.objects.filter(employee=alice).count() == 1, "no device enrolled behind the employee's back"


def test_the_command_line_reads_the_secret_file_and_refuses_bad_ones(tmp_path, capsys):
    from capture_client import cli

    secret_file = tmp_path / "device-secret"
    secret_file.write_text("  cdev_abc123\n")
    assert cli.read_device_secret(secret_file) == "cdev_abc123"

    for content, complaint in [("", "alone, on one line"), ("cdev_a cdev_b", "alone, on one line")]:
        secret_file.write_text(content)
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["--device-secret-file", str(secret_file)])
        assert exit_info.value.code == 2
        assert complaint in capsys.readouterr().err

    with pytest.raises(SystemExit):
        cli.main(["--device-secret-file", str(tmp_path / "missing")])
    assert "cannot read the device secret file" in capsys.readouterr().err

    secret_file.write_text("cdev_abc123")
    with pytest.raises(SystemExit):
        cli.main(["--device-secret-file", str(secret_file), "--username", "alice"])
    assert "leave out --username" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        cli.main([])
    assert "--device-secret-file" in capsys.readouterr().err
