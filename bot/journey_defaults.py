"""The built-in ELEVATE journey: the same steps as ``journeys.steps`` in config.yaml, so an
installed copy without the repository's config.yaml behaves the same (a test checks they agree).
"""

from __future__ import annotations

from typing import Any

DEFAULT_STEPS: dict[str, dict[str, Any]] = {
    "hook": {
        "kind": "question",
        "wait_hours": 0,
        "text": (
            "👋 Thanks for following {name}! One question to start: what is the one "
            "goal you most want help with right now? Just reply here."
        ),
    },
    "gift": {
        "kind": "report",
        "wait_hours": 24,
        "text": "🎁 As promised, your personal insights report from {name}.",
        "report_text": (
            "# Your insights report from {name}\n\n## What you want\n\n{goals}\n\n"
            "## Where to start\n\n{analysis}\n"
        ),
    },
    "identify": {
        "kind": "payment_gate",
        "wait_hours": 24,
        "amount_usd": 100,
        "remind_every_hours": 24,
        "deadline_hours": 168,
        "text": (
            "🔑 Ready to go further with {name}? Unlock the full journey with {amoun"
            "t} ${symbol} ({price})."
        ),
        "reminder_text": (
            "⏰ A reminder: your spot in {name}'s journey is waiting. {amount} ${sym"
            "bol} ({price}) unlocks it."
        ),
        "ended_text": (
            "No worries — the journey ends here. Follow along as you like; you ca"
            "n buy ${symbol} any time with /buy {handle} {amount}."
        ),
        "buttons": ("buy",),
    },
    "engage": {
        "kind": "message",
        "wait_hours": 24,
        "text": "🚀 You're in! Ask {name}'s AI clone anything, any time.",
        "buttons": ("chat",),
    },
    "sell": {
        "kind": "message",
        "wait_hours": 48,
        "text": ("💡 Holders of ${symbol} get more from {name}: deeper answers and early content."),
        "buttons": (
            "buy",
            "chat",
        ),
    },
    "nurture": {
        "kind": "message",
        "wait_hours": 72,
        "text": (
            "🌱 How is it going? {name}'s clone remembers your last chats: pick up w"
            "here you left off."
        ),
        "buttons": ("chat",),
    },
    "upsell": {
        "kind": "message",
        "wait_hours": 72,
        "text": ("⭐ Going all in? Stack up on ${symbol} and earn rewards with every chat."),
        "buttons": ("buy",),
    },
    "understand": {
        "kind": "rating",
        "wait_hours": 48,
        "text": (
            "🙏 How would you rate your journey with {name} so far? Tap a rating, an"
            "d reply with anything you'd like to tell them."
        ),
    },
    "share": {
        "kind": "referral",
        "wait_hours": 48,
        "text": (
            "🤝 Know someone who'd love {name}? Share your personal link: {link}\nYou"
            " get ${symbol} for everyone who joins through it."
        ),
    },
}
