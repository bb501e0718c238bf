"""Configuration from the environment: typed readers that fail loudly, production checks."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_bool_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", False)


def test_env_int_checks_type_and_bounds(monkeypatch):
    monkeypatch.setenv("N", "12")
    assert env_int("N", 1, minimum=1, maximum=20) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("N", 1, minimum=1)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_env_secret_reads_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret))
    assert env_secret("TOKEN") == "from-a-file"
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("TOKEN")
    monkeypatch.delenv("TOKEN_FILE")
    with pytest.raises(ImproperlyConfigured, match="Set the TOKEN"):
        env_secret("TOKEN")


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _manage("check", env={"DJANGO_SETTINGS_MODULE": "config.settings.production", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
            "ALLOWED_HOSTS": "consent.example.com",
            "VAR_DIR": str(tmp_path),
            "MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_deployment_checks_refuse_a_missing_master_key(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
            "ALLOWED_HOSTS": "consent.example.com",
            "VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "collection.E001" in result.stderr and "No master key" in result.stderr


def test_a_bad_value_stops_the_service_with_a_message_naming_it(tmp_path):
    result = _manage("check", env={"DEBUG": "perhaps", "VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("true", "5"), ("false", "None")])
def test_prepared_statements_can_be_turned_off_for_poolers(tmp_path, raw, expected):
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold'))",
        env={
            "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/unused",
            "DATABASE_PREPARED_STATEMENTS": raw,
            "VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
