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


# --- Every setting declared, app code off os.environ, settings without side effects ---

PRODUCT_DIRS = ["accounts", "audit", "consent", "collection", "erasure", "signing", "config", "bench"]


def _declared_settings() -> set[str]:
    """Upper-case names base.py or a per-environment settings file assigns (also under an ``if``)."""
    import ast

    names = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names.update(t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper())
    return names


def _product_sources():
    for top in PRODUCT_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_every_setting_the_code_reads_is_declared_in_the_settings_package():
    import re

    read: dict[str, set[str]] = {}
    pattern = re.compile(r"""settings\.([A-Z][A-Z0-9_]+)|getattr\(\s*settings\s*,\s*["']([A-Z][A-Z0-9_]+)["']""")
    for path in _product_sources():
        if path.is_relative_to(ROOT / "config" / "settings"):
            continue
        for match in pattern.finditer(path.read_text()):
            read.setdefault(match.group(1) or match.group(2), set()).add(str(path.relative_to(ROOT)))
    assert "LOGIN_RATE_LIMIT_PER_ACCOUNT" in read, "the scan finds the settings the code reads"
    declared = _declared_settings()
    assert {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT"} <= declared
    undeclared = {name: sorted(files) for name, files in read.items() if name not in declared}
    assert undeclared == {}


def test_app_code_never_reads_the_environment():
    allowed = {ROOT / "config" / "env.py", ROOT / "config" / "wsgi.py", ROOT / "config" / "celery.py"}
    offenders = []
    for path in _product_sources():
        if path in allowed or path.is_relative_to(ROOT / "config" / "settings") or path.is_relative_to(ROOT / "bench"):
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "VAR_DIR"}
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("module", ["config.settings.dev", "config.settings.test", "config.settings.production"])
def test_loading_settings_creates_no_files_or_folders(tmp_path, module):
    var = tmp_path / "var"
    result = _python(
        f"import importlib; importlib.import_module({module!r}); print('loaded')",
        env={"VAR_DIR": str(var), "SECRET_KEY": "y" * 50},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"
    assert not var.exists()
    assert list(tmp_path.iterdir()) == []


def test_start_up_makes_the_folders_the_embedded_defaults_need(tmp_path):
    var = tmp_path / "var"
    embedded = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**embedded, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "VAR_DIR": str(var)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    made = {str(p.relative_to(var)) for p in var.rglob("*") if p.is_dir()}
    assert {"celery/control", "celery/processed", "celery/queue", "static"} <= made


def test_a_web_server_without_a_settings_module_refuses_to_start_without_a_secret(tmp_path):
    result = _python("import config.wsgi", env={"VAR_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "Set SECRET_KEY (or SECRET_KEY_FILE)" in result.stderr


def test_a_web_server_without_a_settings_module_never_runs_in_debug_mode(tmp_path):
    result = _python("import config.wsgi", env={"VAR_DIR": str(tmp_path), "DEBUG": "1", "SECRET_KEY": "y" * 50})
    assert result.returncode == 1
    assert "DEBUG must be off with production settings." in result.stderr


def test_a_celery_process_without_a_settings_module_runs_the_production_settings(tmp_path):
    code = "from config.celery import app; from django.conf import settings; print(app.conf.broker_url, settings.DEBUG)"
    without_secret = _python(code, env={"VAR_DIR": str(tmp_path)})
    assert without_secret.returncode == 1
    assert "Set SECRET_KEY (or SECRET_KEY_FILE)" in without_secret.stderr
    configured = _python(code, env={"VAR_DIR": str(tmp_path), "SECRET_KEY": "y" * 50, "CELERY_BROKER_URL": "memory://"})
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip() == "memory:// False"
