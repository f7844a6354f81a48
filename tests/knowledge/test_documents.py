"""Reading the files creators send: text in its encodings, PDFs good and bad."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from adapters.knowledge.documents import FileDocumentReader
from core.ai_ports import UnreadableDocument

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4


def pdf(*pages: str) -> bytes:
    """A minimal valid PDF: one page per content stream, Helvetica, a correct xref table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, content in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        stream = content.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def text(line: str) -> str:
    return f"BT /F1 18 Tf 72 720 Td ({line}) Tj ET"


def encrypted(data: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


reader = FileDocumentReader()


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [
        ("notes.txt", None, "txt"),
        ("NOTES.TXT", "application/octet-stream", "txt"),
        ("readme.md", "text/plain", "md"),
        ("guide.markdown", None, "md"),
        ("book.PDF", None, "pdf"),
        ("book", "application/pdf", "pdf"),
        ("noext", "text/plain; charset=utf-8", "txt"),
        ("noext", "text/markdown", "md"),
        ("photo.png", "image/png", None),
        ("slides.docx", None, None),
        ("", None, None),
    ],
)
def test_accepts_by_extension_then_mime(name: str, mime: str | None, kind: str | None) -> None:
    assert reader.accepts(name, mime) == kind


async def test_reads_a_pdf_page_by_page() -> None:
    data = pdf(text("Hello from page one"), text("And page two"))

    assert await reader.read("pdf", data) == "Hello from page one\n\nAnd page two"


async def test_a_pdf_without_text_is_unreadable() -> None:
    scan = pdf("0 0 m 200 200 l S")  # only a drawing, as a scanned page has only an image
    with pytest.raises(UnreadableDocument, match="no text"):
        await reader.read("pdf", scan)


async def test_a_password_protected_pdf_is_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="password"):
        await reader.read("pdf", encrypted(pdf(text("Secret")), user_password="secret"))


async def test_a_pdf_restricted_only_by_an_owner_password_is_read() -> None:
    data = encrypted(pdf(text("Open to all")), user_password="")
    assert await reader.read("pdf", data) == "Open to all"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n" + bytes(range(256)) * 8,
        pdf(text("Cut short"))[:60],
        b"",
        b"not a pdf at all",
        PNG,
    ],
    ids=["junk after header", "truncated", "empty", "text", "png"],
)
async def test_a_damaged_pdf_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableDocument):
        await reader.read("pdf", data)


async def test_text_in_utf8_with_and_without_bom() -> None:
    body = "Crème brûlée — 5 € 🍮\nLine two"
    assert await reader.read("txt", body.encode()) == body
    assert await reader.read("md", b"\xef\xbb\xbf" + body.encode()) == body
    assert await reader.read("txt", body.encode("utf-16")) == body


async def test_text_in_latin1_and_windows_1252() -> None:
    body = "Café au lait, naïve façade. Größe: 5 m²."
    assert await reader.read("txt", body.encode("latin-1")) == body
    assert await reader.read("txt", "“Quotes” – 5 €".encode("cp1252")) == "“Quotes” – 5 €"


async def test_utf8_with_one_stray_byte_stays_utf8() -> None:
    body = "Crème brûlée. " * 100
    data = body.encode() + b"\xff"
    assert await reader.read("txt", data) == body + "\ufffd"


@pytest.mark.parametrize(
    "data",
    [PNG, bytes(range(1, 32)) * 50, b"   \n\n\t ", b""],
    ids=["png renamed .txt", "control bytes", "blank", "empty"],
)
async def test_binary_or_empty_text_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableDocument):
        await reader.read("txt", data)
