"""Uploads are checked by what they are, not by their names: images (Willow/Pillow format,
size, pixels, decompression bombs), documents (content must match the extension), and
documents are served inert (attachment or a sandboxed inline PDF, nosniff)."""

import io
import struct
import warnings
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from PIL import Image
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Collection

from cms.uploads import DocumentForm, document_content_check
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


# --- files -----------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG that declares width x height pixels (one black row, the rest missing)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\0" * (1 + (width + 7) // 8) * 8, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A GIF whose logical screen and only frame declare width x height pixels."""
    out = io.BytesIO()
    Image.new("P", (1, 1)).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", width, height)  # logical screen
    at = data.index(b",")  # image descriptor
    data[at + 5 : at + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def webp_bomb(width: int = 16_000, height: int = 16_000) -> bytes:
    """A lossless WebP whose VP8L header declares width x height (256 M pixels)."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, "WEBP", lossless=True)
    data = bytearray(out.getvalue())
    at = data.index(b"VP8L") + 8  # chunk type, chunk size, then the 0x2f signature byte
    assert data[at] == 0x2F
    bits = int.from_bytes(data[at + 1 : at + 5], "little")
    bits = (bits & ~0xFFFFFFF) | (width - 1) | ((height - 1) << 14)
    data[at + 1 : at + 5] = bits.to_bytes(4, "little")
    return bytes(data)


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def ooxml(main_part: str, *, extra: dict | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(main_part, "<document/>")
        for name, content in (extra or {}).items():
            package.writestr(name, content)
    return out.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)


# --- images ----------------------------------------------------------------------------------


@pytest.fixture
def operator_client(client, admin_in_english):
    client.force_login(OperatorFactory())
    return client


def _add_image(client, name: str, content: bytes):
    return client.post(
        reverse("wagtailimages:add"),
        {
            "title": "upload",
            "file": SimpleUploadedFile(name, content),
            "collection": Collection.get_first_root_node().pk,
        },
    )


def _errors(response) -> str:
    """The form's errors as the operator (who prefers English) read them."""
    form = response.context["form"]
    with translation.override("en"):
        return " ".join(str(error) for errors in form.errors.values() for error in errors)


def test_an_ordinary_image_is_accepted(operator_client):
    response = _add_image(operator_client, "road.png", png())
    assert response.status_code == 302, _errors(response)
    image = get_image_model().objects.get()
    assert (image.width, image.height) == (40, 30)


@pytest.mark.parametrize(
    "name,content",
    [
        ("bomb.png", png_bomb()),
        ("bomb.gif", gif_bomb()),
        ("bomb.webp", webp_bomb()),
        ("just-over.png", png_bomb(8_000, 5_001)),  # 40 M + 8,000: over our limit, not Pillow's
    ],
    ids=["png-900M", "gif-3600M", "webp-256M", "png-40M"],
)
def test_a_decompression_bomb_is_refused_with_a_clear_error(operator_client, name, content):
    assert len(content) < 10_000  # the point of a bomb: small on the wire
    response = _add_image(operator_client, name, content)
    assert response.status_code == 200
    assert "too many pixels" in _errors(response)
    assert not get_image_model().objects.exists()


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("drawing.svg", SVG, "Not a supported image format"),
        ("drawing.png", SVG, "Not a valid .png image"),
        ("page.png", HTML, "Not a valid .png image"),
        ("photo.jpg", png(), "Not a valid .jpeg image"),
        ("photo.gif", png(), "Not a valid .gif image"),
    ],
    ids=["svg", "svg-as-png", "html-as-png", "png-as-jpg", "png-as-gif"],
)
def test_an_image_must_be_what_its_name_says(operator_client, name, content, message):
    response = _add_image(operator_client, name, content)
    assert response.status_code == 200
    assert message in _errors(response)
    assert not get_image_model().objects.exists()


def test_an_image_over_the_size_limit_is_refused(operator_client, settings):
    settings.WAGTAILIMAGES_MAX_UPLOAD_SIZE = 1000
    response = _add_image(operator_client, "big.png", png(400, 400) + b"\0" * 2000)
    assert "This file is too big" in _errors(response)


def test_pillow_refuses_a_bomb_everywhere_in_the_process():
    """A bomb that reached storage by another path (a seeder, a restored backup) cannot be
    decoded for a rendition either: Pillow's limit is the upload limit, and its warning (between
    the limit and twice the limit) is an error."""
    from cms.uploads import apply_image_limits

    assert Image.MAX_IMAGE_PIXELS == 40_000_000
    for bomb in (png_bomb(), gif_bomb(), webp_bomb()):
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(bomb))
    with warnings.catch_warnings():  # filters as a library might leave them
        warnings.simplefilter("ignore")
        apply_image_limits()
        with pytest.raises(Image.DecompressionBombWarning):
            Image.open(io.BytesIO(png_bomb(8_000, 5_001)))
    assert Image.open(io.BytesIO(png(6_000, 6_000))).size == (6_000, 6_000)  # 36 M: fine


def test_a_rendition_of_a_stored_bomb_fails_instead_of_decoding_it():
    """Even saving an Image row with a bomb fails (Wagtail reads its size); one put there
    behind Wagtail's back (bulk_create) cannot be rendered."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    model = get_image_model()
    with pytest.raises(Image.DecompressionBombError):
        model.objects.create(title="bomb", file=ContentFile(png_bomb(), name="bomb.png"))
    name = default_storage.save("original_images/smuggled.png", ContentFile(png_bomb()))
    model.objects.bulk_create(
        [model(title="smuggled", file=name, width=30_000, height=30_000, collection_id=1)]
    )
    with pytest.raises(Image.DecompressionBombError):
        model.objects.get().get_rendition("width-360")


# --- documents ---------------------------------------------------------------------------------


def _add_document(client, name: str, content: bytes):
    return client.post(
        reverse("wagtaildocs:add"),
        {
            "title": "upload",
            "file": SimpleUploadedFile(name, content),
            "collection": Collection.get_first_root_node().pk,
        },
    )


GOOD_DOCUMENTS = [
    ("rules.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    ("notes.docx", ooxml("word/document.xml")),
    ("sheet.xlsx", ooxml("xl/workbook.xml")),
    ("slides.pptx", ooxml("ppt/presentation.xml")),
    ("notes.txt", "安全驾驶：保持车距。\n".encode()),
    ("list.csv", b"name,score\nWang,90\n"),
]


@pytest.mark.parametrize("name,content", GOOD_DOCUMENTS, ids=[n for n, _ in GOOD_DOCUMENTS])
def test_real_documents_are_accepted(operator_client, name, content):
    response = _add_document(operator_client, name, content)
    assert response.status_code == 302, _errors(response)
    assert get_document_model().objects.get().filename == name


BAD_DOCUMENTS = [
    ("rules.pdf", HTML, "not a PDF"),
    ("rules.pdf", b"   <html><body>%PDF-1.4</body></html>", "not a PDF"),
    ("notes.docx", b"%PDF-1.7\n", "not a .docx document"),
    ("notes.docx", ooxml("xl/workbook.xml"), "not a .docx document"),
    ("sheet.xlsx", b"PK\x03\x04garbage", "not a .xlsx document"),
    ("notes.docx", ooxml("word/document.xml", extra={"word/vbaProject.bin": b"x"}), "macros"),
    ("notes.txt", HTML, "not plain text"),
    ("notes.txt", SVG, "not plain text"),
    ("list.csv", b"\xef\xbb\xbf  <script>alert(1)</script>", "not plain text"),
    ("notes.txt", b"MZ\x90\x00\x03\x00\x00\x00", "not plain text"),
    ("page.html", HTML, "File extension"),
    ("drawing.svg", SVG, "File extension"),
]


@pytest.mark.parametrize(
    "name,content,message",
    BAD_DOCUMENTS,
    ids=[f"{n}-{i}" for i, (n, _, __) in enumerate(BAD_DOCUMENTS)],
)
def test_a_document_whose_content_is_not_its_extension_is_refused(
    operator_client, name, content, message
):
    response = _add_document(operator_client, name, content)
    assert response.status_code == 200
    assert message in _errors(response)
    assert not get_document_model().objects.exists()


def test_a_document_over_the_size_limit_is_refused(operator_client, settings):
    settings.WAGTAILDOCS_MAX_UPLOAD_SIZE = 100
    response = _add_document(operator_client, "rules.pdf", b"%PDF-1.7\n" + b"0" * 200)
    assert "This file is too big" in _errors(response)


def test_the_multiple_uploader_checks_content_too(operator_client):
    response = operator_client.post(
        reverse("wagtaildocs:add_multiple"),
        {"files[]": SimpleUploadedFile("rules.pdf", HTML)},
    )
    assert response.status_code == 200
    assert response.json()["success"] is False
    assert not get_document_model().objects.exists()


def test_replacing_a_documents_file_checks_the_new_content(operator_client):
    _add_document(operator_client, "rules.pdf", GOOD_DOCUMENTS[0][1])
    document = get_document_model().objects.get()
    response = operator_client.post(
        reverse("wagtaildocs:edit", args=[document.pk]),
        {
            "title": "upload",
            "file": SimpleUploadedFile("rules.pdf", HTML),
            "collection": document.collection_id,
        },
    )
    assert response.status_code == 200
    assert "not a PDF" in _errors(response)
    document.refresh_from_db()
    assert document.file.read().startswith(b"%PDF-")


def test_the_check_leaves_the_file_where_it_was():
    upload = SimpleUploadedFile("notes.docx", ooxml("word/document.xml"))
    upload.seek(3)
    document_content_check(upload)
    assert upload.tell() == 3
    assert DocumentForm.__mro__[1].__name__ == "BaseDocumentForm"


@pytest.mark.parametrize(
    "name,content,inline",
    [("rules.pdf", GOOD_DOCUMENTS[0][1], True), ("list.csv", b"a,b\n1,2\n", False)],
)
def test_documents_are_served_inert(operator_client, client, name, content, inline):
    _add_document(operator_client, name, content)
    document = get_document_model().objects.get()
    client.logout()
    response = client.get(document.url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline") if inline else disposition.startswith("attachment")


# --- the public certificate check: a badge PNG whose credential is a zlib bomb ------------------


def _badge_with_compressed_text(inflated_size: int) -> bytes:
    body = zlib.compress(b"{" + b" " * inflated_size, 9)
    itxt = b"openbadgecredential\0" + b"\1\0" + b"\0" + b"\0" + body
    plain = png(4, 4)
    at = plain.index(b"IDAT") - 4
    return plain[:at] + _chunk(b"iTXt", itxt) + plain[at:]


def test_a_badge_whose_credential_inflates_too_far_is_refused():
    from credentials.rendering.badge import MAX_BAKED_TEXT_BYTES, unbake_png

    assert unbake_png(_badge_with_compressed_text(1000)) == "{" + " " * 1000
    bomb = _badge_with_compressed_text(64 * 1024 * 1024)  # 64 MB of text in a ~65 KB file
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="too large"):
        unbake_png(bomb)
    assert MAX_BAKED_TEXT_BYTES <= 1024 * 1024


def test_the_check_page_says_a_bomb_badge_is_damaged(client):
    from django.utils import translation

    with translation.override("en"):
        url = reverse("certificates:verify")
    upload = SimpleUploadedFile("badge.png", _badge_with_compressed_text(64 * 1024 * 1024))
    response = client.post(url, {"file": upload})
    assert response.status_code < 500
    assert "The image is damaged or not a PNG badge." in response.content.decode()
