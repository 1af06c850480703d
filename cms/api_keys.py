"""Platform API keys: make one (shown once), revoke one, and recognise one on a request.

A key reads ``rw_<prefix>_<secret>``. The prefix is public and finds the row; only the
SHA-256 of the whole key is stored. Keys carry 32 random bytes, so a fast hash is enough:
nobody can guess their way back from the hash the way they could with a password."""

import hashlib
import hmac
import secrets
import string
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.api_scopes import ALL_SCOPES, all_scopes
from cms.audit import SYSTEM_COMMAND, audit
from cms.models import Organization, PlatformApiKey, User

KEY_SCHEME = "rw"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# A real key is 3 + 8 + 1 + 43 characters; anything much longer is not one of ours.
MAX_KEY_LENGTH = 128
# Recording every use would be a write per request; once a minute is plenty to see activity.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_format(*, prefix: str, secret: str) -> str:
    return f"{KEY_SCHEME}_{prefix}_{secret}"


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _parse(raw: str) -> tuple[str, str] | None:
    """Split a presented key into (prefix, secret), or None if it cannot be one of ours."""
    if not isinstance(raw, str) or len(raw) > MAX_KEY_LENGTH or not raw.isascii():
        return None
    head = f"{KEY_SCHEME}_"
    if not raw.startswith(head):
        return None
    prefix, sep, secret = raw[len(head) :].partition("_")  # the secret may contain "_"
    if not sep or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    if any(c not in PREFIX_ALPHABET for c in prefix):
        return None
    return prefix, secret


def _in_order(scopes: list[str]) -> list[str]:
    """Each scope once, in the documented order; unknown ones last (full_clean refuses them)."""
    rank = {scope: i for i, scope in enumerate(ALL_SCOPES)}
    return sorted(set(scopes), key=lambda scope: (rank.get(scope, len(rank)), scope))


def _new_prefix() -> str:
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if not PlatformApiKey.objects.filter(prefix=prefix).exists():
            return prefix


def _check_platform(organization: Organization) -> None:
    if organization.kind != Organization.Kind.PLATFORM:
        raise ValidationError(
            _("API keys can only be given to ride-hailing platforms, not to “%(name)s”.")
            % {"name": organization.display_name},
            code="not_platform",
        )


@transaction.atomic
def platform_api_key_store(
    *,
    organization: Organization,
    name: str,
    prefix: str,
    secret: str,
    created_by: User | None = None,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int | None = None,
) -> tuple[PlatformApiKey, str]:
    """Save a key made of ``prefix`` and ``secret``; return it with its plaintext.

    Callers other than the demo should use platform_api_key_create, which picks both at random."""
    _check_platform(organization)
    raw = api_key_format(prefix=prefix, secret=secret)
    if _parse(raw) is None:
        raise ValueError("not a well-formed API key prefix")
    api_key = PlatformApiKey(
        organization=organization,
        name=name.strip(),
        prefix=prefix,
        secret_hash=api_key_hash(raw),
        created_by=created_by,
        scopes=all_scopes() if scopes is None else _in_order(scopes),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    api_key.full_clean()
    api_key.save()
    audit(
        "roadwise.api_key.create",
        api_key,
        user=created_by,
        actor_label=None if created_by else SYSTEM_COMMAND,
        title=_key_title(api_key),
        # Never the key nor its hash: the prefix names it.
        data={
            "platform": organization.slug,
            "name": api_key.name,
            "prefix": prefix,
            "scopes": api_key.scopes,
            "rate_limit_per_minute": rate_limit_per_minute,
        },
    )
    return api_key, raw


def _key_title(api_key: PlatformApiKey) -> str:
    return f"API key rw_{api_key.prefix} ({api_key.organization.slug})"


def platform_api_key_create(
    *,
    organization: Organization,
    name: str,
    created_by: User | None = None,
    scopes: list[str] | None = None,
    rate_limit_per_minute: int | None = None,
) -> tuple[PlatformApiKey, str]:
    """Make a new random key for a platform. The plaintext is returned here and never again.

    ``scopes`` defaults to all of them; ``rate_limit_per_minute`` to the site's default."""
    return platform_api_key_store(
        organization=organization,
        name=name,
        prefix=_new_prefix(),
        secret=secrets.token_urlsafe(32),
        created_by=created_by,
        scopes=scopes,
        rate_limit_per_minute=rate_limit_per_minute,
    )


def platform_api_key_revoke(
    *, api_key: PlatformApiKey, revoked_by: User | None = None
) -> PlatformApiKey:
    """Stop a key from working, at once and for good. Revoking it again changes nothing."""
    with transaction.atomic():
        api_key = PlatformApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.revoked_by = revoked_by
            api_key.save(update_fields=["revoked_at", "revoked_by"])
            audit(
                "roadwise.api_key.revoke",
                api_key,
                user=revoked_by,
                actor_label=None if revoked_by else SYSTEM_COMMAND,
                title=_key_title(api_key),
                data={"platform": api_key.organization.slug, "prefix": api_key.prefix},
            )
    return api_key


def platform_api_key_authenticate(raw: str) -> PlatformApiKey | None:
    """The live key that ``raw`` is, with its organisation loaded; None for anything else."""
    parsed = _parse(raw)
    if parsed is None:
        return None
    prefix, _secret = parsed
    api_key = PlatformApiKey.objects.select_related("organization").filter(prefix=prefix).first()
    if api_key is None:
        return None
    if not hmac.compare_digest(api_key.secret_hash, api_key_hash(raw)):
        return None
    if api_key.revoked_at is not None or not api_key.organization.is_active:
        return None
    if api_key.organization.kind != Organization.Kind.PLATFORM:
        return None  # the organisation changed kind after the key was made
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # Conditional, so that concurrent requests do not all write.
        PlatformApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
