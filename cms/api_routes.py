"""The site's own endpoints under /api/v1/: who a platform's key says it is; and the error
schema every router documents."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cms.api_auth import ANY_KEY, needs, platform_key_auth

router = Router(auth=platform_key_auth, tags=["platform"])


class ErrorOut(Schema):
    """Every error answer: ``{"detail": …}``."""

    detail: str | list[dict[str, Any]] = Field(
        description="What is wrong, in plain words in the language of Accept-Language "
        "(Chinese by default); for a request the schema refuses, a list of field errors "
        "(`loc`, `msg`, `type`)."
    )


def api_errors(*codes: int) -> dict[int, type[ErrorOut]]:
    """``response={200: Out, **api_errors(401, 422)}``: the error answers an operation gives."""
    return dict.fromkeys(codes, ErrorOut)


class WhoAmI(Schema):
    platform: str
    name: str
    key: str


@router.get(
    "/whoami",
    auth=needs(ANY_KEY),
    response={200: WhoAmI, **api_errors(401)},
    summary="The platform this API key belongs to",
    description="Answers with your platform's slug and name and the public prefix of the key "
    "you sent: a quick way to check that a key works.",
)
def whoami(request: HttpRequest):
    return {
        "platform": request.platform.slug,
        "name": request.platform.name,
        "key": request.api_key.prefix,
    }
