"""The demo organisation created by ``manage.py seed_demo``."""

from __future__ import annotations

import random

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo accounts only; seed_demo refuses to run without DEBUG

# (username, roles, department, first name, last name)
PERSONAS = [
    ("alice", ["employee"], "Engineering", "Alice", "Anders"),
    ("olivia", ["privacy_officer"], "Privacy Office", "Olivia", "Owens"),
    ("oscar", ["privacy_officer"], "Privacy Office", "Oscar", "Ortiz"),
    ("rita", ["requester"], "Machine Learning", "Rita", "Reyes"),
    ("aaron", ["auditor"], "Internal Audit", "Aaron", "Abbott"),
    ("adam", ["admin"], "IT", "Adam", "Adler"),
]

# Department sizes chosen so that one group falls under the reporting threshold.
DEPARTMENTS = {"Engineering": 14, "Sales": 9, "Support": 8, "Design": 6, "Legal": 3}

FIRST_NAMES = [
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Owen",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Arjun",
    "Bea",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
]
LAST_NAMES = [
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
]


def demo_employees(seed: int = 7) -> list[tuple[str, str, str, str]]:
    """(username, department, first, last) for the extra employees, stable across runs."""
    rng = random.Random(seed)
    people = []
    names = iter(FIRST_NAMES)
    for department, size in DEPARTMENTS.items():
        for _ in range(size - (1 if department == "Engineering" else 0)):  # alice is in Engineering
            first = next(names)
            last = rng.choice(LAST_NAMES)
            people.append((first.lower(), department, first, last))
    return people
