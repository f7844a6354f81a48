"""Knowledge a creator feeds their clone: documents, their chunks, and how text is chunked.

Chunks overlap so that a sentence cut at a boundary is still whole in one of them; they end at
a paragraph, line or sentence break when one is near, so a quoted chunk reads naturally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

CHUNK_CHARS = 800
OVERLAP_CHARS = 120
# A break this far back from the cut (or less) is preferred to cutting mid-sentence.
_LOOK_BACK = 0.3
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " ")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A piece of knowledge as the creator sees it in ``/knowledge list``."""

    id: int
    title: str
    chunks: int
    characters: int
    source: str  # "text" (typed with /knowledge add) or the file type: "txt", "md", "pdf"
    created_at: datetime
    complete: bool = True  # False while (or if a crash left it) not fully stored


@dataclass(frozen=True, slots=True)
class KnowledgeChunk:
    """One retrievable piece of a document."""

    document_id: int
    position: int  # 0-based index of the chunk in its document
    title: str
    text: str
    score: float = 0.0


def normalise(text: str) -> str:
    """Collapse runs of spaces and blank lines; keep paragraph breaks."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\x00", "").splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Split ``text`` into chunks of at most ``size`` characters overlapping by ``overlap``."""
    if not 0 <= overlap < size:
        raise ValueError("overlap must be at least 0 and smaller than the chunk size")
    text = normalise(text)
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            end = _break_before(text, start, end, size)
        piece = text[start:end].strip()
        if piece:
            chunks.append(piece)
        if end >= len(text):
            break
        # Step back by the overlap, to a word start, but always move forward.
        next_start = max(end - overlap, start + 1)
        space = text.find(" ", next_start, end)
        start = space + 1 if 0 <= space < end - 1 and overlap else next_start
    return chunks


def _break_before(text: str, start: int, end: int, size: int) -> int:
    floor = end - int(size * _LOOK_BACK)
    for mark in _BREAKS:
        found = text.rfind(mark, max(start + 1, floor), end)
        if found != -1:
            return found + len(mark)
    return end
