"""The plain data a certificate is rendered from; the caller fills it from the database.

Labels that depend on the language (role, achievement type, level) arrive already translated;
``language`` selects the language of the fixed labels printed around them.
"""

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuerContent:
    name: str  # e.g. "鹏城交通职业学院"
    role: str  # already-translated label, e.g. "培训院校" / "联合开发车企"
    logo_png: bytes | None  # PNG bytes, or None: a monogram is drawn instead


@dataclass(frozen=True)
class CertificateContent:
    number: str  # certificate number, e.g. "RW-2026-000123"
    holder_name: str  # driver's display name, often Chinese: "王建国"
    course_title: str
    achievement_type: str  # already translated, e.g. "结业证书" / "Certificate of completion"
    level: str  # already translated
    hours: str  # e.g. "2.5"
    score_percent: int
    issued_on: datetime.date
    valid_until: datetime.date | None
    issuers: tuple[IssuerContent, ...]  # 1 or 2 (school + co-developing carmaker)
    verify_url: str  # absolute URL of the public verification page
    language: str  # "zh-hans" or "en": the fixed labels are rendered in this language
