"""Signed links to the sandbox checkout page, so nobody can open or pay a purchase by guessing.

A link is ``{public_url}/checkout/{purchase id}?amount={cents}&sig={HMAC-SHA256}``: the
signature covers the purchase id and the amount to charge, with a key that is random per process
(a link from before a restart is refused; ``/buy`` gives a new one, and the sandbox server's
state does not survive a restart either).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

CHECKOUT_PATH = "/checkout"


class CheckoutLinks:
    def __init__(self, public_url: str, key: bytes | None = None) -> None:
        self._base = public_url.rstrip("/")
        self._key = key if key is not None else secrets.token_bytes(32)

    def url(self, purchase_id: int, amount_cents: int) -> str:
        """The page where the fan pays ``amount_cents`` US cents for this purchase."""
        query = urlencode({"amount": amount_cents, "sig": self._sign(purchase_id, amount_cents)})
        return f"{self._base}{CHECKOUT_PATH}/{purchase_id}?{query}"

    def verify(self, purchase_id: int, amount: str, signature: str) -> int | None:
        """The amount in cents when ``signature`` is this process's for these values, else None."""
        if not (amount.isascii() and amount.isdigit() and 0 < len(amount) <= 12):
            return None
        cents = int(amount)
        expected = self._sign(purchase_id, cents)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return None
        return cents

    def _sign(self, purchase_id: int, amount_cents: int) -> str:
        message = f"checkout:{purchase_id}:{amount_cents}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
