"""How the audit log names what an entry is about (its ``target``) and who acted.

One helper per kind of name, so that a reader filtering the log by target
(the auditor's console, the employee's "who accessed data about you") and
every writer agree on the spelling.
"""

from __future__ import annotations


def subject_target(pseudonym: str) -> str:
    """A data subject, by the pseudonym captured data is stored under (never a username)."""
    return f"subject:{pseudonym}"


def user_target(username: str) -> str:
    """An account."""
    return f"user:{username}"


def data_request_target(request_id: object) -> str:
    return f"data_request:{request_id}"


def grant_target(grant_id: object) -> str:
    return f"grant:{grant_id}"
