"""Read-side queries of the credentials app."""

from credentials.models import Credential


def credentials_of(user):
    """A driver's credentials, newest first, with what lists and the API show."""
    return (
        Credential.objects.filter(holder=user)
        .select_related("course", "issuer", "completion")
        .prefetch_related("co_signers")
        .order_by("-issued_at", "-pk")
    )


def display_status(credential: Credential) -> str:
    """active, suspended, revoked, or expired (revocation and suspension win over expiry)."""
    if credential.status != Credential.Status.ACTIVE:
        return credential.status
    return "expired" if credential.is_expired else "active"
