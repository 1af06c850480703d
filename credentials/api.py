"""The platforms' credential API: verify certificates, list a consenting driver's certificates.

Every endpoint needs a platform API key (``Authorization: Bearer rw_…``).
"""

import json
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from cms import api_scopes as scopes
from cms.api_auth import needs, platform_key_auth
from cms.api_routes import api_errors
from cms.models import User
from cms.phone import mask_mobile, normalize_mobile
from credentials import selectors
from credentials.services import platform_has_consent
from credentials.verification import Verifier

router = Router(auth=platform_key_auth, tags=["credentials"])

MAX_BATCH = 1000


class CheckOut(Schema):
    result: Literal["pass", "fail", "unknown"]
    code: str = Field(description="A stable machine-readable code, e.g. tampered, revoked.")
    reason: str = Field(description="The outcome in plain words.")


class ChecksOut(Schema):
    proof: CheckOut
    issuer: CheckOut
    status: CheckOut
    validity: CheckOut
    schema_: CheckOut = Field(alias="schema")


class CredentialSummary(Schema):
    id: str | None = None
    number: str | None = None
    name: str | None = None
    holder: str | None = None
    issuer: str | None = None
    validFrom: str | None = None
    validUntil: str | None = None


class VerifyResult(Schema):
    verified: bool = Field(description="True only when every check passes.")
    checks: ChecksOut
    credential: CredentialSummary | None = None


class VerifyIn(Schema):
    credential: dict[str, Any] | str | None = Field(
        None,
        description="One credential: the JSON document (object or text), its id "
        "(urn:uuid:…), or the text of its QR code (RW1:…).",
    )
    credentials: list[dict[str, Any] | str] | None = Field(
        None, description=f"A batch of up to {MAX_BATCH}, each as for `credential`."
    )
    proofs: Literal["all", "fastest"] | None = Field(
        None,
        description="`all` checks every proof; `fastest` checks only the eddsa-jcs-2022 proof "
        "of a key that signed in both cryptosuites (about 20 times quicker). Default: `all` "
        "for one credential, `fastest` for a batch.",
    )


class BatchResult(Schema):
    count: int
    verified: int
    results: list[VerifyResult]


class DriverCredential(Schema):
    id: str
    number: str
    course: str
    issuer: str
    status: Literal["active", "suspended", "revoked", "expired"]
    status_reason: str
    issued_at: str
    valid_until: str | None
    document: dict[str, Any]
    qr: str = Field(description="The compact signed form (RW1:…), as in the QR code.")


class DriverCredentials(Schema):
    driver: str = Field(description="The driver's mobile number, masked: +86 139****0001.")
    credentials: list[DriverCredential]


_SUMMARY_FIELDS = tuple(CredentialSummary.model_fields)


def _conforming(result: dict) -> dict:
    """A report as the documented VerifyResult: the summary's fields are strings or null (a
    foreign credential may carry anything in them)."""
    summary = result.get("credential")
    if summary is not None:
        result["credential"] = {
            name: value if isinstance(value := summary.get(name), str) else None
            for name in _SUMMARY_FIELDS
        }
    return result


@router.post(
    "/credentials/verify",
    auth=needs(scopes.CREDENTIALS_VERIFY),
    response={200: VerifyResult | BatchResult, **api_errors(400, 401, 422)},
    by_alias=True,
    summary="Verify one credential, or a batch of up to 1,000",
    description="Checks the signatures (any did:key or did:web issuer; other DID methods "
    "answer `unknown`), whether Roadwise knows the issuer, the W3C Bitstring status lists "
    "(revocation, suspension; fails closed), the validity dates and the Open Badges 3.0 "
    "schema. Send `credential` for one (the answer is a result) or `credentials` for a batch "
    "(the answer has `results` in the same order). A credential that fails a check is still "
    "a 200 with `verified: false`; 422 means the request itself is wrong (neither or both of "
    "`credential` and `credentials`, an empty batch, more than 1,000).",
)
def verify(request: HttpRequest, payload: VerifyIn):
    if (payload.credential is None) == (payload.credentials is None):
        raise HttpError(422, _("Send either “credential” or “credentials”, not both or neither."))
    if payload.credentials is not None:
        if not payload.credentials:
            raise HttpError(422, _("“credentials” is empty."))
        if len(payload.credentials) > MAX_BATCH:
            raise HttpError(422, _("At most %(max)s credentials per batch.") % {"max": MAX_BATCH})
        verifier = Verifier(fastest=(payload.proofs or "fastest") == "fastest")
        results = [_conforming(report.as_dict()) for report in verifier.many(payload.credentials)]
        body = {
            "count": len(results),
            "verified": sum(1 for result in results if result["verified"]),
            "results": results,
        }
        # Rendered here rather than validated into 1,000 BatchResult models by ninja (a third
        # of a batch's time, benchmark 2b): _conforming gives exactly the documented shape.
        return HttpResponse(
            json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
        )
    verifier = Verifier(fastest=payload.proofs == "fastest")
    return verifier.any(payload.credential).as_dict()


@router.get(
    "/drivers/{mobile}/credentials",
    auth=needs(scopes.CREDENTIALS_READ),
    response={200: DriverCredentials, **api_errors(401, 403)},
    summary="A driver's certificates, where the driver has granted your platform consent",
    description="`mobile` is the driver's mobile number (E.164, e.g. +8613900000001). "
    "Answers 403 unless the driver has granted your platform consent and not withdrawn it "
    "(the same answer for an unknown number, so numbers cannot be probed).",
)
def driver_credentials(request: HttpRequest, mobile: str):
    refused = HttpError(403, _("This driver has not given your platform consent."))
    try:
        normalized = normalize_mobile(mobile)
    except Exception:  # noqa: BLE001 - any unparseable number is refused the same way
        raise refused from None
    driver = User.objects.filter(mobile=normalized, is_active=True).first()
    if driver is None or not platform_has_consent(platform=request.platform, holder=driver):
        raise refused
    return {
        "driver": mask_mobile(normalized),  # the platform sent it; it is not echoed whole
        "credentials": [
            {
                "id": f"urn:uuid:{credential.public_id}",
                "number": credential.number,
                "course": credential.course.title,
                "issuer": credential.issuer.name,
                "status": selectors.display_status(credential),
                "status_reason": credential.status_reason,
                "issued_at": credential.issued_at.isoformat(),
                "valid_until": credential.valid_until.isoformat()
                if credential.valid_until
                else None,
                "document": json.loads(credential.document),
                "qr": credential.compact,
            }
            for credential in selectors.credentials_of(driver)
        ],
    }
