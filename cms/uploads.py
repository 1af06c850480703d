"""What authors may upload: images and documents checked by their content, not their name.

Wagtail already opens every uploaded image with Willow and refuses one whose real format does
not match its extension, one too large, and one with too many pixels. What it leaves to us:
Pillow's own limit for the whole process (so that no rendition, badge or seeder ever decodes a
decompression bomb that reached storage by another path), and the content of documents, which
Wagtail stores as they come. The document form below is Wagtail's own
(``WAGTAILDOCS_DOCUMENT_FORM_BASE``) with one more check on the file.
"""

import warnings
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image
from wagtail.documents.forms import BaseDocumentForm

# How many bytes of a document the content checks look at (the start of a file says what it is).
SNIFF_BYTES = 8 * 1024

# Office Open XML: the part every real file of each kind has.
OOXML_MAIN_PART = {
    "docx": "word/document.xml",
    "xlsx": "xl/workbook.xml",
    "pptx": "ppt/presentation.xml",
}

# The start of a file a browser or an office program would treat as markup or a program.
_MARKUP_STARTS = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<iframe",
    b"<object",
    b"<embed",
    b"<meta",
    b"<a ",
    b"<img",
    b"<div",
    b"<!--",
)
_BINARY_STARTS = (b"%PDF-", b"PK\x03\x04", b"MZ", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8")


def apply_image_limits() -> None:
    """Make Pillow refuse, everywhere in the process, what the upload form refuses.

    Pillow warns above ``Image.MAX_IMAGE_PIXELS`` and raises only above twice that; the
    warning becomes an error here, so a rendition of a bomb fails instead of eating memory.
    """
    limit = getattr(settings, "WAGTAILIMAGES_MAX_IMAGE_PIXELS", None)
    if limit:
        Image.MAX_IMAGE_PIXELS = limit
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _looks_like_markup(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf\xfe\xff \t\r\n\x0c").lower()
    return start.startswith(_MARKUP_STARTS)


def document_content_check(upload, *, name: str | None = None) -> None:
    """Raise ValidationError unless the file's content is what its extension says.

    A ``.pdf`` must start as a PDF; a ``.docx``/``.xlsx``/``.pptx`` must be the zip package of
    that kind, without macros; a ``.txt``/``.csv`` must be text and not markup. Any other
    extension is refused (the list in ``WAGTAILDOCS_EXTENSIONS`` is checked by Wagtail).
    """
    name = name or getattr(upload, "name", "") or ""
    extension = _extension(name)
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        if extension == "pdf":
            if not head.startswith(b"%PDF-"):
                raise ValidationError(
                    _("This file is not a PDF, although its name ends in .pdf."),
                    code="document_content_mismatch",
                )
        elif extension in OOXML_MAIN_PART:
            _check_ooxml(upload, extension)
        elif extension in ("txt", "csv"):
            if b"\x00" in head or head.startswith(_BINARY_STARTS) or _looks_like_markup(head):
                raise ValidationError(
                    _("This file is not plain text, although its name ends in .%(extension)s."),
                    code="document_content_mismatch",
                    params={"extension": extension},
                )
        else:
            raise ValidationError(
                _("Documents of this kind cannot be uploaded."), code="document_extension"
            )
    finally:
        upload.seek(position)


def _check_ooxml(upload, extension: str) -> None:
    refused = ValidationError(
        _("This file is not a .%(extension)s document, although its name says so."),
        code="document_content_mismatch",
        params={"extension": extension},
    )
    try:
        with zipfile.ZipFile(upload) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise refused from None
    if "[Content_Types].xml" not in names or OOXML_MAIN_PART[extension] not in names:
        raise refused
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise ValidationError(
            _("Documents with macros cannot be uploaded."), code="document_macros"
        )


class DocumentForm(BaseDocumentForm):
    """Wagtail's document form, which also checks that the content matches the extension
    (every way into the document library uses it: the add and edit views, the multiple
    uploader and the chooser)."""

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and "file" in self.changed_data:
            document_content_check(upload)
        return upload
