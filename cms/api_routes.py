"""The site's own endpoints under /api/v1/: who a platform's key says it is; and the error
schema every router documents."""

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import AfterValidator

from cms.api_auth import ANY_KEY, needs, platform_key_auth

router = Router(auth=platform_key_auth, tags=["platform"])


class ErrorOut(Schema):
    """Every error answer: ``{"detail": …}``."""

    detail: str | list[dict[str, Any]] = Field(
        description="What is wrong, in plain words in the language of Accept-Language "
        "(Chinese by default); for a request the schema refuses, a list of field errors "
        "(`loc`, `msg`, `type`)."
    )


def api_errors(*codes: int, scoped: bool = True) -> dict[int, type[ErrorOut]]:
    """``response={200: Out, **api_errors(401, 422)}``: the error answers an operation gives.

    Every operation may answer 429 (the key's rate limit, cms/throttling.py), and every scoped
    one 403 (the key lacks the operation's scope, cms/api_auth.py)."""
    return dict.fromkeys(sorted({*codes, 429, *((403,) if scoped else ())}), ErrorOut)


def _nul_at(value: Any, path: tuple = ()) -> tuple | None:
    """Where in ``value`` (a JSON value) a NUL character is, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, (*path, key)) or _nul_at(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*path, index))
            if found is not None:
                return found
    return None


def _refuse_nul(value: Any) -> Any:
    at = _nul_at(value)
    if at is None:
        return value
    where = ".".join(str(part).replace("\x00", "\\u0000") for part in at)
    if where:
        raise ValueError(
            _("“%(field)s” holds a NUL character (\\u0000); it cannot be stored.")
            % {"field": where}
        )
    raise ValueError(_("This text holds a NUL character (\\u0000); it cannot be stored."))


NoNul = AfterValidator(_refuse_nul)
"""``Annotated[str, NoNul]``: PostgreSQL cannot store a NUL character in text, so a request
holding one is refused at the boundary (422, naming the field) instead of failing (500) when it
is stored. Also for a free-form object, e.g. ``Annotated[dict[str, Any], NoNul]``."""
Text = Annotated[str, NoNul]


class WhoAmI(Schema):
    platform: str
    name: str
    key: str


@router.get(
    "/whoami",
    auth=needs(ANY_KEY),
    response={200: WhoAmI, **api_errors(401, scoped=False)},
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
