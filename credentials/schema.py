"""Open Badges 3.0 JSON Schema validation, against a local copy of 1EdTech's schema.

``schemas/ob_v3p0_achievementcredential_schema_draft4.json`` is kept verbatim (from
1EdTech/digital-credentials-public-validator, Apache-2.0). It was written for credentials on
the VC 1.1 data model; Open Badges 3.0 credentials on VC 2.0 (``@context``
``https://www.w3.org/ns/credentials/v2``, as 1EdTech's own signing example and ours are)
differ from it in exactly three places, which :func:`vc2_profile` adapts, and nothing else:

1. VC 2.0 names the issuance date ``validFrom`` (and expiry ``validUntil``); the VC 1.1 names
   ``issuanceDate``/``expirationDate`` are not terms of the VC 2.0 context at all, so a VC 2.0
   credential cannot carry them. The schema requires ``issuanceDate``: for VC 2.0 documents we
   require ``validFrom`` instead, with the same date-time format.
2. ``credentialStatus`` may be a list (VC 2.0 §4.10), here a revocation and a suspension entry.
3. A status entry carries the fields of its type (``BitstringStatusListEntry`` has
   ``statusPurpose``, ``statusListIndex``, ``statusListCredential``); the draft-4 copy forbids
   any field but ``id`` and ``type``, 1EdTech's current schema allows them.

Every other rule (required fields, types, enumerations, ``additionalProperties: false`` of
AchievementSubject and IdentityObject, formats) applies unchanged. Without the adaptation, even
1EdTech's signed example fails (only on ``issuanceDate``): a test shows it.

Validation uses ``jsonschema-rs`` (compiled, Rust): about 0.01 ms a credential against 2.2 ms
with the pure-Python ``jsonschema`` package, which made schema validation the largest part of
a batch verification (benchmark 2, docs/benchmarks.md). It checks the formats too (date-time,
uri, email), which ``jsonschema`` only did with optional extras that were not installed.
"""

import copy
import json
from functools import cache
from pathlib import Path

import jsonschema_rs

SCHEMA_PATH = Path(__file__).parent / "schemas" / "ob_v3p0_achievementcredential_schema_draft4.json"
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}


@cache
def ob_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def vc2_profile() -> dict:
    """The schema with the three VC 2.0 adaptations described above."""
    schema = copy.deepcopy(ob_schema())
    date_time = schema["properties"]["issuanceDate"]
    schema["properties"]["validFrom"] = dict(date_time, description="VC 2.0 issuance date.")
    schema["properties"]["validUntil"] = dict(date_time, description="VC 2.0 expiry date.")
    schema["required"] = [
        "validFrom" if name == "issuanceDate" else name for name in schema["required"]
    ]
    status = schema["$defs"]["CredentialStatus"]
    status["additionalProperties"] = True
    schema["properties"]["credentialStatus"] = {
        "oneOf": [
            {"$ref": "#/$defs/CredentialStatus"},
            {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/CredentialStatus"}},
        ]
    }
    return schema


def _validator(schema: dict) -> jsonschema_rs.Draft4Validator:
    # A copy: the validator must not share (or alter) the cached schema dicts.
    return jsonschema_rs.Draft4Validator(copy.deepcopy(schema), validate_formats=True)


@cache
def _vc2_validator():
    return _validator(vc2_profile())


@cache
def _vc11_validator():
    return _validator(ob_schema())


def is_open_badge(document: dict) -> bool:
    types = document.get("type")
    types = types if isinstance(types, list) else [types]
    return bool(OB_TYPES & {t for t in types if isinstance(t, str)})


def schema_errors(document: dict) -> list[str]:
    """Where ``document`` breaks the Open Badges 3.0 schema (empty: it validates).

    VC 2.0 documents are checked against :func:`vc2_profile`, VC 1.1 ones against the schema
    as published.
    """
    contexts = document.get("@context")
    is_vc2 = isinstance(contexts, list) and contexts[:1] == [VC_V2_CONTEXT]
    validator = _vc2_validator() if is_vc2 else _vc11_validator()
    if validator.is_valid(document):
        return []
    errors = sorted(
        validator.iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    )
    return [
        f"{'/'.join(str(part) for part in error.instance_path) or '(document)'}: {error.message}"
        for error in errors
    ]
