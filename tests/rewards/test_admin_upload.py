"""Platform staff upload service events as CSV in the admin; the same checks as the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cms.models import Organization
from rewards import services
from rewards.models import ServiceEvent
from tests.factories import DriverFactory, OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/admin/service-data/"


@pytest.fixture
def platform(db):
    return Organization.objects.create(kind="platform", name="快行出行", slug="kuaixing")


@pytest.fixture
def staff(platform):
    from django.contrib.auth.models import Permission

    user = UserFactory(organization=platform)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return user


@pytest.fixture
def linked(platform):
    driver = DriverFactory(mobile="+8613900000001")
    request = services.link_request_create(
        platform=platform, mobile=driver.mobile, platform_driver_id="KX-1001"
    )
    services.link_request_decide(request=request, driver=driver, approve=True)
    return driver


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("events.csv", text.encode("utf-8"), content_type="text/csv")


def test_staff_upload_a_csv_and_see_each_rows_result(client, staff, linked):
    when = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    text = (
        "id,driver,type,occurred_at,fare_fen,rating\n"
        f"t-1,KX-1001,trip,{when},2350,\n"
        f"r-1,KX-1001,rating,{when},,5\n"
        f"r-2,KX-1001,rating,{when},,9\n"
        f"t-2,KX-404,trip,{when},100,\n"
    )
    client.force_login(staff)
    response = client.post(URL, {"file": csv_file(text)})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-status="accepted"') == 2
    assert html.count('data-status="refused"') == 2
    assert set(ServiceEvent.objects.values_list("external_id", flat=True)) == {"t-1", "r-1"}
    again = client.post(URL, {"file": csv_file(text)}).content.decode()
    assert again.count('data-status="duplicate"') == 2
    assert ServiceEvent.objects.count() == 2


@pytest.mark.parametrize(
    "text",
    ["", "id,driver\nx,y\n", "id,driver,type,occurred_at,colour\n", "\xff\xfe"],
)
def test_a_bad_file_is_refused_with_a_message(client, staff, text):
    client.force_login(staff)
    response = client.post(URL, {"file": csv_file(text)})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ServiceEvent.objects.exists()


def test_operators_choose_the_platform_and_others_are_refused(client, platform, linked):
    when = timezone.now().isoformat()
    operator = OperatorFactory()
    client.force_login(operator)
    response = client.post(
        URL,
        {
            "platform": platform.pk,
            "file": csv_file(f"id,driver,type,occurred_at,fare_fen\nt,KX-1001,trip,{when},1\n"),
        },
    )
    assert response.status_code == 200
    assert ServiceEvent.objects.count() == 1
    school = Organization.objects.create(kind="school", name="学校", slug="school")
    client.force_login(UserFactory(organization=school))
    assert client.get(URL).status_code in (302, 403)


def test_operators_audit_the_ledger_and_others_cannot(client, platform, staff):
    from rewards import ledger
    from rewards.admin_views import yuan

    ledger.post_transaction(
        idempotency_key="t-deposit",
        kind="deposit",
        legs=[
            (ledger.platform_funding_account(platform), 123456),
            (ledger.external_account(), -123456),
        ],
        description="funding",
    )
    client.force_login(OperatorFactory())
    html = client.get("/admin/service-data/ledger/").content.decode()
    assert "data-invariants-ok" in html
    assert "¥1,234.56" in html and "¥-1,234.56" in html
    assert "t-deposit" in html
    client.force_login(staff)
    assert client.get("/admin/service-data/ledger/").status_code in (302, 403)
    assert (yuan(0), yuan(-5), yuan(100)) == ("0.00", "-0.05", "1.00")
