"""Who acted, in words: the actor column of an audit entry as a person reads it."""

from __future__ import annotations

# The service's own jobs act as "system:<job>" in the audit log; a person reads what the job is.
SYSTEM_ACTORS = {
    "system:erasure": "Automatic erasure job",
    "system:retention": "Automatic deletion of data past its keeping period",
    "system:data-access": "Automatic expiry of dataset requests and grants",
}
UNNAMED_SYSTEM_ACTOR = "An automatic job of this service"


def actor_in_words(actor: str) -> str:
    """An account by its username, a job by what it does; never a raw ``system:`` name."""
    if actor == "system" or actor.startswith("system:"):
        return SYSTEM_ACTORS.get(actor, UNNAMED_SYSTEM_ACTOR)
    return actor.removeprefix("user:")
