import json

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from credentials.did import did_document as build_did_document
from credentials.did import issuing_organizations
from credentials.models import StatusList
from credentials.status import STATUS_LIST_MAX_AGE, status_list_current_document

DID_DOCUMENT_MAX_AGE = 300


@require_safe
def did_document(request, slug: str) -> HttpResponse:
    """An issuer's did:web DID document (``/issuers/<slug>/did.json``)."""
    organization = get_object_or_404(issuing_organizations(), slug=slug)
    document = build_did_document(organization)
    if not document["verificationMethod"]:
        raise Http404("This organisation has no issuing keys yet.")
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type="application/did+json",
    )
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=DID_DOCUMENT_MAX_AGE)
    return response


@require_safe
def status_list(request, slug: str, purpose: str, number: int) -> HttpResponse:
    """A signed BitstringStatusListCredential, re-signed first if it is about to expire."""
    status_list = get_object_or_404(
        StatusList.objects.select_related("issuer"),
        issuer__slug=slug,
        purpose=purpose,
        number=number,
    )
    document = status_list_current_document(status_list)
    response = HttpResponse(document, content_type="application/vc+ld+json; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=STATUS_LIST_MAX_AGE)
    return response
