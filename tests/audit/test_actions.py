"""Every action the services record is one of ``AuditAction``: one name for each thing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from audit.actions import AuditAction

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "consent", "collection", "erasure", "signing", "access")


def _named_action(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "AuditAction"
    if isinstance(node, ast.IfExp):
        return _named_action(node.body) and _named_action(node.orelse)
    if isinstance(node, ast.Call):  # AuditAction(f"consent.{kind}") refuses unknown values
        return isinstance(node.func, ast.Name) and node.func.id == "AuditAction"
    return isinstance(node, ast.Name)  # passed through from a caller that named it


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "audit_record":
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def test_the_services_record_audit_entries():
    assert len(_calls()) >= 20  # the scan itself works


@pytest.mark.parametrize(("where", "call"), _calls(), ids=lambda value: value if isinstance(value, str) else "")
def test_every_recorded_action_is_named_in_audit_action(where, call):
    action = next((k.value for k in call.keywords if k.arg == "action"), None)
    assert action is not None and _named_action(action), f"{where}: pass an AuditAction, not a string"


def test_actions_have_labels_and_unknown_ones_are_shown_as_recorded():
    assert AuditAction.label_of("notice.published") == "Notice published"
    assert AuditAction.label_of("something.from_an_older_release") == "something.from_an_older_release"
    assert len(set(AuditAction.values)) == len(AuditAction.values)
