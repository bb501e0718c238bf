"""A real Celery worker for the fault tests, with one pause point in the erasure.

Run as ``python -m tests.erasure._fault_worker <celery worker arguments>``
with ``FAULT_QUEUE`` (see ``_worker_settings``) and ``FAULT_DIR``.  The pause
point sits between the two steps of ``erasure_request_carry_out``: after the
data key is destroyed (committed) and before the ciphertext is deleted.  On
its n-th pass in this process it writes ``FAULT_DIR/reached-<n>`` and waits
while ``FAULT_DIR/pause-<n>`` exists, so a test can kill the worker there,
cut its database connection, or let it go on.  The product code has no hook:
the delete is wrapped here, before the worker starts.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.erasure._worker_settings"

import django  # noqa: E402

django.setup()

import erasure.services  # noqa: E402
from config.celery import app  # noqa: E402

_delete = erasure.services.subject_ciphertext_delete
_passes = itertools.count(1)


def _paused_delete(**kwargs: Any) -> dict[str, Any]:
    folder = Path(os.environ["FAULT_DIR"])
    n = next(_passes)
    (folder / f"reached-{n}").write_text(str(os.getpid()))
    pause = folder / f"pause-{n}"
    while pause.exists():  # the test removes it to let the erasure go on
        time.sleep(0.02)
    return _delete(**kwargs)


erasure.services.subject_ciphertext_delete = _paused_delete  # type: ignore[assignment]

if __name__ == "__main__":
    app.worker_main(["worker", *sys.argv[1:]])
