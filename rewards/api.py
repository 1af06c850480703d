"""Platforms' service-data API: link drivers (with their consent), send service events."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from cms import api_scopes as scopes
from cms.api_auth import needs, platform_key_auth
from cms.api_routes import NoNul, Text, api_errors
from rewards import services
from rewards.models import DriverLink

router = Router(auth=platform_key_auth, tags=["service data"])


class LinkIn(Schema):
    mobile: Text = Field(description="The driver's mobile number, e.g. +8613900000001.")
    driver: Text = Field(description="Your own id for this driver (1–64 characters).")


class LinkRequestOut(Schema):
    status: str
    code: str = Field(
        description="Show this code to the driver in your app: typing it on Roadwise "
        "links the accounts. The driver can also approve the request on the site."
    )
    expires_at: datetime


class LinkOut(Schema):
    driver: str
    linked_at: datetime


class EventsIn(Schema):
    events: list[Annotated[dict[str, Any], NoNul]] = Field(
        description="Up to 1,000 events. Every event has `id` (your own, unique), `driver` "
        "(your driver id, linked), `type` (trip, rating, complaint, safety_incident, "
        "online_session) and `occurred_at` (ISO 8601 with a time zone). A trip has "
        "`fare_fen` (the driver's earnings in fen); a rating `rating` (1–5) and optionally "
        "`trip_id`; a complaint `outcome` (pending, upheld, dismissed); a safety incident "
        "`severity` (minor, serious); an online session `ended_at`."
    )


class RowOut(Schema):
    index: int
    id: str | None
    status: Literal["accepted", "duplicate", "updated", "refused"]
    reason: str


class EventsOut(Schema):
    accepted: int
    duplicates: int
    updated: int
    refused: int
    results: list[RowOut]


@router.post(
    "/driver-links",
    auth=needs(scopes.DRIVERS_LINK),
    response={201: LinkRequestOut, **api_errors(400, 401, 403, 422)},
    summary="Ask a driver to link their Roadwise account to your platform",
    description="Creates a link request for the driver with this mobile number, under your "
    "own id for them. Show the returned `code` in your app: the driver types it on Roadwise "
    "(or approves the request there), and from then on you may send their service events "
    "and give them awards. A new request for the same driver replaces a pending one. "
    "422: the number or the id is not valid; 403: your platform may not ask.",
)
def link_create(request: HttpRequest, payload: LinkIn):
    try:
        link_request = services.link_request_create(
            platform=request.platform, mobile=payload.mobile, platform_driver_id=payload.driver
        )
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages)) from None
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    return 201, {
        "status": link_request.status,
        "code": link_request.code,
        "expires_at": link_request.expires_at,
    }


@router.get(
    "/driver-links",
    auth=needs(scopes.DRIVERS_LINK),
    response={200: list[LinkOut], **api_errors(401)},
    summary="The drivers who have linked their account to your platform",
    description="Your own ids of the drivers whose link is active (not ended by the driver), "
    "with when they linked.",
)
def link_list(request: HttpRequest):
    return [
        {"driver": link.platform_driver_id, "linked_at": link.linked_at}
        for link in DriverLink.objects.filter(platform=request.platform, unlinked_at=None)
    ]


@router.post(
    "/service-events",
    auth=needs(scopes.EVENTS_WRITE),
    response={200: EventsOut, **api_errors(400, 401, 403, 422)},
    summary="Send a batch of service events (trips, ratings, complaints, safety, sessions)",
    description="Each event is checked on its own; the answer says for each row whether it "
    "was accepted, a duplicate (its id was seen before: nothing changes), updated (a pending "
    "complaint's outcome) or refused and why. Refused rows never affect accepted ones. "
    "422: the batch itself is wrong (empty, too long, not a list of objects); 403: your "
    "platform may not send events.",
)
def events_ingest(request: HttpRequest, payload: EventsIn):
    if not payload.events:
        raise HttpError(422, _("The batch is empty: send at least one event."))
    try:
        results = services.service_events_ingest(platform=request.platform, rows=payload.events)
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages)) from None
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from None
    # The answer is EventsOut (as documented above), rendered here at once: validating 1,000
    # RowOut objects through the schema took longer than inserting the batch (measured).
    counts = dict.fromkeys(("accepted", "duplicate", "updated", "refused"), 0)
    rows = []
    for result in results:
        counts[result.status] += 1
        rows.append(result.as_dict())
    body = {
        "accepted": counts["accepted"],
        "duplicates": counts["duplicate"],
        "updated": counts["updated"],
        "refused": counts["refused"],
        "results": rows,
    }
    return HttpResponse(json.dumps(body), content_type="application/json; charset=utf-8")
