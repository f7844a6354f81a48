"""Input rules shared by the services. Each check returns the clean value or raises InvalidInput."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from core.errors import InvalidInput, Reason

NAME_MAX = 80
BIO_MAX = 500
NICHE_MAX = 32
NICHES_MAX = 10
EMAIL_MAX = 254
URL_MAX = 500
HANDLE_MAX = 32
HANDLE_BASE_MAX = 24

_HANDLE_RE = re.compile(rf"[a-z0-9_]{{1,{HANDLE_MAX}}}")
# Deliberately simple and strict: one @, a dot-atom local part, a domain of LDH labels with a TLD.
_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NICHE_RE = re.compile(r"[\w][\w &+.-]*")


# Bidi overrides and isolates can make text display as something else (spoofing). Other format
# characters are needed: the zero-width joiner holds emoji together, ZWNJ spells Persian.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_handle(text: str) -> bool:
    """Whether ``text`` is spelled as a handle is (lowercase letters, digits, underscores)."""
    return _HANDLE_RE.fullmatch(text) is not None


def _has_control(text: str) -> bool:
    return any(
        (unicodedata.category(ch) == "Cc" and ch != "\n") or ch in _BIDI_CONTROLS for ch in text
    )


def clean_text(value: str, field: str, limit: int, *, multiline: bool = False) -> str:
    """Normalise (NFC, trimmed) and bound a free-text field."""
    text = unicodedata.normalize("NFC", value).strip()
    if not multiline:
        text = " ".join(text.split())
    if _has_control(text):
        raise InvalidInput(Reason.CONTROL_CHARACTERS, field=field)
    if len(text) > limit:
        raise InvalidInput(Reason.TOO_LONG, field=field, limit=limit, length=len(text))
    return text


def clean_name(value: str) -> str:
    name = clean_text(value, "name", NAME_MAX)
    if not name:
        raise InvalidInput(Reason.NAME_REQUIRED)
    return name


def clean_email(value: str) -> str:
    """Return the address, lower-cased: addresses that differ only in case are one person."""
    email = value.strip()
    if not email:
        raise InvalidInput(Reason.EMAIL_REQUIRED)
    if len(email) > EMAIL_MAX or email.count("@") != 1:
        raise InvalidInput(Reason.EMAIL_INVALID, value=email[:80])
    local, domain = email.split("@")
    domain = domain.lower()
    labels = domain.split(".")
    if (
        len(local) > 64
        or not _EMAIL_LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput(Reason.EMAIL_INVALID, value=email[:80])
    return f"{local.lower()}@{domain}"


def clean_niches(values: list[str]) -> list[str]:
    """Lower-case, trim, de-duplicate (keeping order); 1 to NICHES_MAX of them."""
    niches: list[str] = []
    for raw in values:
        niche = " ".join(unicodedata.normalize("NFC", raw).split()).lower()
        if not niche:
            continue
        if len(niche) > NICHE_MAX or not _NICHE_RE.fullmatch(niche):
            raise InvalidInput(Reason.NICHE_INVALID, value=niche[:40], limit=NICHE_MAX)
        if niche not in niches:
            niches.append(niche)
    if not niches:
        raise InvalidInput(Reason.NICHES_REQUIRED)
    if len(niches) > NICHES_MAX:
        raise InvalidInput(Reason.TOO_MANY_NICHES, count=len(niches), limit=NICHES_MAX)
    return niches


def clean_niche(value: str) -> str:
    return clean_niches([value])[0]


def clean_handle(value: str) -> str:
    """A handle as typed by a person: an optional leading @, any case."""
    handle = value.strip().removeprefix("@").lower()
    if not _HANDLE_RE.fullmatch(handle):
        raise InvalidInput(Reason.HANDLE_INVALID, value=value.strip()[:40])
    return handle


def handle_base(email: str) -> str:
    """The handle an email's local part suggests: ``Alice.Smith+x@…`` → ``alice_smith``."""
    local = email.split("@", 1)[0].split("+", 1)[0].lower()
    base = re.sub(r"[^a-z0-9]+", "_", local).strip("_")[:HANDLE_BASE_MAX].strip("_")
    return base or "creator"


def clean_url(value: str) -> str:
    url = value.strip()
    if len(url) > URL_MAX:
        raise InvalidInput(Reason.TOO_LONG, field="avatar", limit=URL_MAX, length=len(url))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise InvalidInput(Reason.URL_INVALID, value=url[:80])
    return url


def clean_limit(value: int, maximum: int) -> int:
    if not 1 <= value <= maximum:
        raise InvalidInput(Reason.LIMIT_INVALID, limit=maximum)
    return value
