"""factory_boy factories for accounts, shared by the tests, ``seed_demo`` and the benchmarks.

``UserFactory(roles=[...])`` creates an account through ``accounts.services.user_create``,
so a made-up account is exactly what the product would make: its roles, its
``is_staff`` flag and its ``account.create`` audit entry.  ``.build()`` gives
an unsaved ``User`` with no roles, for code that needs no database.

Traits name the personas' roles: ``UserFactory(officer=True)`` is a privacy
officer in the Privacy Office.

factory_boy is a development dependency (requirements-dev.txt): nothing the
service runs in production imports this module.  ``seed_demo`` does, which is
why ``make run`` installs requirements-dev.txt.
"""

from __future__ import annotations

from typing import Any

import factory

from accounts.models import Role, User
from accounts.services import user_create


class UserFactory(factory.Factory):
    class Meta:
        model = User

    class Params:
        employee = factory.Trait(roles=(Role.EMPLOYEE,))
        officer = factory.Trait(roles=(Role.PRIVACY_OFFICER,), department="Privacy Office")
        requester = factory.Trait(roles=(Role.REQUESTER,), department="Machine Learning")
        auditor = factory.Trait(roles=(Role.AUDITOR,), department="Internal Audit")
        admin = factory.Trait(roles=(Role.ADMIN,), department="IT")

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    department = "Engineering"
    first_name = ""
    last_name = ""
    roles: Any = (Role.EMPLOYEE,)
    # None leaves the account without a usable password, as user_create does.
    password: str | None = "factory-made-password"  # noqa: S105 - made-up accounts only
    # Who the audit entry names as having created the account.
    actor = "system:factory"

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, roles: Any, actor: str, password: str | None, **fields: Any):
        # Made-up passwords are not held to the validators (user_create checks real ones).
        return user_create(actor=actor, roles=roles, password=password, check_password=False, **fields)

    @classmethod
    def _build(cls, model_class: type[User], *args: Any, roles: Any, actor: str, password: str | None, **fields: Any):
        user = model_class(**fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        return user
