"""Hostile payloads (tests/security/test_xss.py) in Chromium: on the pages where a script would
hurt most, the payload shows as text and never runs. Each payload sets ``window.__xss`` or
opens a dialog; both are watched."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import OperatorFactory
from tests.security.test_xss import hostile, hostile_rewards, payload  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _open(browser, live_server, client, user=None):
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-GB")
    if user is not None:
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page, dialogs


def _visit_and_check(page, dialogs, url, *texts):
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.__xss") is None, url
    assert dialogs == [], url
    body = page.inner_text("body")
    for text in texts:
        assert text in body, (url, text)


def en(name, **kwargs) -> str:
    with translation.override("en"):
        return reverse(name, kwargs=kwargs)


def test_the_verification_and_certificate_pages_do_not_run_the_name(
    e2e_browser,
    live_server,
    client,
    hostile,  # noqa: F811
):
    credential = hostile.credential
    page, dialogs = _open(e2e_browser, live_server, client)
    shared = live_server.url + en("certificates:shared", token=credential.share_token)
    _visit_and_check(page, dialogs, shared, payload("DN"))
    # The check form, with the certificate pasted in, as a verifier would.
    page.goto(live_server.url + en("certificates:verify"))
    page.fill("textarea[name=text]", credential.document)
    page.click("form [type=submit]")
    page.wait_for_load_state("load")
    assert page.evaluate("() => window.__xss") is None and dialogs == []
    assert payload("DN") in page.inner_text("body")

    page, dialogs = _open(e2e_browser, live_server, client, hostile.driver)
    detail = live_server.url + en("certificates:detail", public_id=credential.public_id)
    _visit_and_check(page, dialogs, detail, payload("DN"))
    lesson = live_server.url + hostile.lesson.url
    _visit_and_check(page, dialogs, lesson, payload("LT"), payload("QQ"))


def test_the_statement_and_the_dispute_admin_do_not_run_platform_or_driver_text(
    e2e_browser,
    live_server,
    client,
    hostile_rewards,  # noqa: F811
    admin_in_english,
):
    _platform, driver, dispute = hostile_rewards
    page, dialogs = _open(e2e_browser, live_server, client, driver)
    _visit_and_check(
        page,
        dialogs,
        live_server.url + "/en/rewards/statements/2026-10/",
        payload("AW"),
        payload("TR"),
    )
    page, dialogs = _open(e2e_browser, live_server, client, OperatorFactory())
    detail = live_server.url + reverse("rewards_disputes:detail", args=[dispute.public_id])
    _visit_and_check(page, dialogs, detail, payload("DR"), payload("TR"))
