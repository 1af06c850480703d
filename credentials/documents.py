"""The JSON-LD documents Roadwise signs: Open Badges 3.0 credentials and status list credentials.

Pure functions over plain values, so that what goes into a certificate is visible in one place.
Every term used here is defined by the W3C VC 2.0 context or the Open Badges 3.0.3 context (the
canonicaliser runs in safe mode and refuses undefined terms), and the result validates against
the Open Badges 3.0 JSON Schema (``credentials.schema``).
"""

from dataclasses import dataclass
from datetime import datetime

from credentials.signing.eddsa import format_datetime

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_V3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CREDENTIAL_CONTEXT = [VC_V2_CONTEXT, OB_V3_CONTEXT]


@dataclass(frozen=True)
class IssuerProfile:
    did: str
    name: str
    url: str


@dataclass(frozen=True)
class StatusEntry:
    purpose: str  # "revocation" or "suspension"
    list_url: str
    index: int


@dataclass(frozen=True)
class AchievementFacts:
    id: str
    name: str
    description: str
    criteria: str
    field_of_study: str
    level: str
    hours: float
    language: str  # BCP 47, e.g. "zh-Hans"


def credential_id(public_id) -> str:
    return f"urn:uuid:{public_id}"


def profile(issuer: IssuerProfile) -> dict:
    return {"id": issuer.did, "type": ["Profile"], "name": issuer.name, "url": issuer.url}


def open_badge_credential(
    *,
    public_id,
    issuer: IssuerProfile,
    co_developers: list[IssuerProfile],
    achievement: AchievementFacts,
    holder_name: str,
    score_percent: int,
    completed_at: datetime,
    issued_at: datetime,
    valid_until: datetime | None,
    status: list[StatusEntry],
    description: str,
) -> dict:
    """An unsigned ``OpenBadgeCredential`` (VC 2.0) for one completion of one course.

    The driver is named by an ``IdentityObject`` (the OB 3.0 way to name a subject without a
    DID); the score is a ``Result`` against the achievement's percent ``ResultDescription``;
    hours are the achievement's ``creditsAvailable`` and the subject's ``creditsEarned``. The
    providing school is the issuer and the achievement's creator; co-developing carmakers are
    named in the description and add their own proofs (a proof set).
    """
    result_description_id = f"{achievement.id}#score"
    document = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": credential_id(public_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile(issuer),
        "validFrom": format_datetime(issued_at),
        "name": achievement.name,
        "description": description,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": holder_name,
                    "identityType": "ext:displayName",
                    "hashed": False,
                }
            ],
            "activityEndDate": format_datetime(completed_at),
            "creditsEarned": achievement.hours,
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": result_description_id,
                    "value": str(score_percent),
                }
            ],
            "achievement": {
                "id": achievement.id,
                "type": ["Achievement"],
                "achievementType": "CertificateOfCompletion",
                "name": achievement.name,
                "description": achievement.description,
                "criteria": {"narrative": achievement.criteria},
                "creator": profile(issuer),
                "creditsAvailable": achievement.hours,
                "fieldOfStudy": achievement.field_of_study,
                "tag": [achievement.field_of_study, achievement.level],
                "inLanguage": achievement.language,
                "resultDescription": [
                    {
                        "id": result_description_id,
                        "type": ["ResultDescription"],
                        "name": "Final score",
                        "resultType": "Percent",
                        "valueMin": "0",
                        "valueMax": "100",
                    }
                ],
            },
        },
        "credentialStatus": [status_entry(entry) for entry in status],
    }
    if valid_until is not None:
        document["validUntil"] = format_datetime(valid_until)
    if co_developers:
        document["credentialSubject"]["achievement"]["otherIdentifier"] = [
            {
                "type": "IdentifierEntry",
                "identifier": co.did,
                "identifierType": "ext:coDeveloper",
            }
            for co in co_developers
        ]
    return document


def status_entry(entry: StatusEntry) -> dict:
    return {
        "id": f"{entry.list_url}#{entry.index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": entry.purpose,
        "statusListIndex": str(entry.index),
        "statusListCredential": entry.list_url,
    }


def status_list_credential(
    *,
    list_url: str,
    issuer_did: str,
    purpose: str,
    encoded_list: str,
    valid_from: datetime,
    valid_until: datetime,
    ttl_ms: int,
) -> dict:
    """An unsigned ``BitstringStatusListCredential``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
            "ttl": ttl_ms,
        },
    }
