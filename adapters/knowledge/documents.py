"""The text of the files creators send as knowledge: plain text, Markdown and PDF."""

from __future__ import annotations

import asyncio
import codecs
import io
import logging
from pathlib import PurePath

from pypdf import PdfReader

from core.ai_ports import UnreadableDocument

log = logging.getLogger(__name__)

EXTENSIONS = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".pdf": "pdf"}
MIME_TYPES = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "application/pdf": "pdf",
}
# UTF-8 with at most this share of bad bytes is UTF-8 with a stray byte, not another encoding.
MAX_BAD_UTF8 = 0.002
# Text has tabs and line breaks, hardly any other control characters; binary data has many.
MAX_CONTROL = 0.02
_CONTROLS = dict.fromkeys(
    c for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n\r\f\v"
)


class FileDocumentReader:
    """Reads .txt/.md (any common encoding) and .pdf files (with pypdf, in a thread)."""

    def accepts(self, file_name: str, mime_type: str | None) -> str | None:
        """``"txt"``, ``"md"`` or ``"pdf"`` by the file's extension, else by its MIME type."""
        kind = EXTENSIONS.get(PurePath(file_name).suffix.lower())
        if kind is None and mime_type:
            kind = MIME_TYPES.get(mime_type.split(";")[0].strip().lower())
        return kind

    async def read(self, kind: str, data: bytes) -> str:
        """The text of a file of ``kind``; ``UnreadableDocument`` if it has none to be had."""
        if kind not in ("txt", "md", "pdf"):
            raise ValueError(f"unknown document kind {kind!r}")
        # pypdf is pure Python and slow on big files, and decoding megabytes takes a while
        # too: either way, off the event loop.
        text = await asyncio.to_thread(_pdf_text if kind == "pdf" else _decode, data)
        if not text.strip():
            raise UnreadableDocument("the file has no text")
        return text


def _decode(data: bytes) -> str:
    """Text in UTF-8 (with or without BOM), UTF-16 with a BOM, or else Windows-1252/Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _checked(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise UnreadableDocument("the file is not valid UTF-16 text") from None
    if b"\x00" in data:  # no 8-bit text encoding has NUL bytes: an image, an archive …
        raise UnreadableDocument("the file is binary, not text")
    try:
        return _checked(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8-sig", errors="replace")
    if text.count("\ufffd") <= MAX_BAD_UTF8 * len(text):
        return _checked(text)
    # Windows-1252 is what a non-UTF-8 Western text file nearly always is; Latin-1 decodes the
    # five bytes it leaves undefined.
    try:
        return _checked(data.decode("cp1252"))
    except UnicodeDecodeError:
        return _checked(data.decode("latin-1"))


def _checked(text: str) -> str:
    controls = len(text) - len(text.translate(_CONTROLS))  # str.translate: C speed
    if controls > MAX_CONTROL * len(text):
        raise UnreadableDocument("the file is binary, not text")
    return text


def _pdf_text(data: bytes) -> str:
    """The text of each page, joined by blank lines. Runs in a worker thread."""
    try:
        reader = PdfReader(io.BytesIO(data))
        # Many PDFs are "encrypted" with an empty user password (only to restrict printing
        # or copying): they open in any viewer, so they are read too.
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("the PDF is protected by a password")
        pages = list(reader.pages)
    except UnreadableDocument:
        raise
    except Exception as error:  # pypdf raises many kinds on damaged files
        raise UnreadableDocument(f"the PDF could not be read ({error})") from error
    texts: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            texts.append(page.extract_text().strip())
        except Exception:  # one damaged page does not spoil the others
            log.warning("page %s of a PDF could not be read", number, exc_info=True)
    text = "\n\n".join(t for t in texts if t)
    if not text:
        raise UnreadableDocument("the PDF has no text (a scan?)")
    return text
