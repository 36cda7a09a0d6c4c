"""Production mode: missing secrets are a clear start-up error, and with every
secret given `manage.py check --deploy` passes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

from tests.support.processes import ROOT


def _manage(env_overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CORE_DATABASE_URL", "REDIS_URL"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True)


PRODUCTION = {
    "YIBAO_ENV": "production",
    "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
    "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "CORE_API_SECRET": "s3cret-core",
    "DATABASE_URL": "postgres://u@localhost/yibao",
    "CORE_DATABASE_URL": "postgres://u@localhost/core",
    "REDIS_URL": "redis://localhost:6379/0",
    "SETTLEMENT_CORE_URL": "https://core.example.cn/core",
    "ALLOWED_HOSTS": "wallet.example.cn",
    "AUDIT_CHECKPOINT_KEY": base64.b64encode(os.urandom(32)).decode(),
    "AUDIT_CHECKPOINT_FILE": "/var/lib/yibao/audit-checkpoints.jsonl",
}


def test_check_deploy_passes_in_production_mode():
    result = _manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_is_a_clear_startup_error():
    env = dict(PRODUCTION)
    del env["FIELD_ENCRYPTION_KEY"]
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "Environment variable FIELD_ENCRYPTION_KEY is required" in result.stderr


def test_the_audit_checkpoint_key_is_required_and_its_own_in_production():
    env = dict(PRODUCTION)
    del env["AUDIT_CHECKPOINT_KEY"]
    assert "Environment variable AUDIT_CHECKPOINT_KEY is required" in _manage(env, "check").stderr
    result = _manage({**PRODUCTION, "AUDIT_CHECKPOINT_KEY": PRODUCTION["SECRET_KEY"]}, "check")
    assert result.returncode != 0 and "AUDIT_CHECKPOINT_KEY must be its own secret" in result.stderr


def test_wrong_value_is_an_error_not_a_default():
    result = _manage({"DEBUG": "maybe"}, "check")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
    result = _manage({"FIELD_ENCRYPTION_KEY": "short"}, "check")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not 32 bytes" in result.stderr


def test_secret_from_file(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = dict(PRODUCTION)
    del env["SECRET_KEY"]
    env["SECRET_KEY_FILE"] = str(secret_file)
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
