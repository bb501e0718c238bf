"""A requester asks for a dataset, an officer approves it in the queue, the requester downloads it; in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import DataRequest, Grant
from tests.collection.conftest import _master_key  # noqa: F401  (fixture: grants wrap their key with it)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_request_goes_from_the_requester_to_the_queue_and_back_as_a_grant(
    page,
    sign_in,
    rita,
    olivia,
    notice,
    allowlist,
    _master_key,  # noqa: F811
):
    until = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    sign_in("rita", PASSWORD)
    page.goto("/requests/")
    page.click("text=Ask for a dataset")
    page.check("#cat-mouse")
    page.check("#cat-clicks")
    page.check("input[name=apps][value='com.microsoft.VSCode']")
    page.fill("#since", (until - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#until", until.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#purpose", "agent-training")
    page.fill("#justification", "Pointer trajectories in the editor, to train cursor control.")
    page.click("text=Submit the request")
    page.wait_for_load_state()
    assert page.url.endswith("/requests/")
    assert "Request submitted" in page.content() and "Waiting for review" in page.content()
    request = DataRequest.objects.get()
    assert request.categories == ["clicks", "mouse"] and request.apps == ["com.microsoft.VSCode"]
    page.click("text=Sign out")
    page.wait_for_load_state()

    sign_in("olivia", PASSWORD)
    page.goto("/officer")
    assert "1 request waiting for review." in page.content()
    page.click("text=Open the review queue")
    page.get_by_role("link", name="Review", exact=True).click()
    page.wait_for_load_state()
    assert "Pointer trajectories in the editor" in page.content() and "fewer than 5" in page.content()
    page.check("#decision-approve")
    page.fill("#reason", "Proportionate: pointer data only, one application.")
    page.fill("#grant_days", "7")
    page.click("text=Record my decision")
    page.wait_for_load_state()
    assert "Approved. The grant runs until" in page.content()
    grant = Grant.objects.get()
    assert grant.request_id == request.id and grant.expires_at - grant.created_at == timedelta(days=7)
    page.click("text=Sign out")
    page.wait_for_load_state()

    sign_in("rita", PASSWORD)
    page.goto("/requests/")
    assert "Approved by olivia" in page.content()
    link = page.locator("text=Download the dataset")
    assert link.get_attribute("href") == f"/api/v1/access/grants/{grant.id}/export"
    download = page.request.get(link.get_attribute("href"))
    assert download.status == 200 and download.headers["content-type"] == "application/x-ndjson"
    assert grant.exports.count() == 1
