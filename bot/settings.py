"""Typed settings: ``config.yaml`` (or ``--config FILE``), then ``ONE_BOT__SECTION__KEY`` overrides.

Everything is validated at start-up; a bad value stops the bot with a message naming the key.
Secrets (tokens, API keys, the mnemonic) are accepted from the environment only and are held as
``SecretStr`` so they never appear in logs or reprs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.journey_defaults import DEFAULT_STEPS

ENV_PREFIX = "ONE_BOT__"
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


class SettingsError(Exception):
    """The configuration cannot be used; the message names the key and what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///data/one-bot.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite:///", "sqlite:///", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:///, sqlite:/// or postgresql+asyncpg://"
            )
        if value.startswith("sqlite") and value.split(":///", 1)[1] in ("", ":memory:"):
            raise ValueError("must name a SQLite file (an in-memory database would not persist)")
        return value


class TelegramSettings(_Section):
    token: SecretStr | None = None
    mode: Literal["polling", "webhook"] = "polling"
    base_url: str | None = None
    base_file_url: str | None = None
    # Webhook mode: the public https:// address of this bot's web server.
    webhook_url: str | None = None
    # Checked on every webhook call; a random one is made at start-up when unset.
    webhook_secret: SecretStr | None = None
    # Seconds between polls (0 = long polling back to back).
    poll_interval: float = Field(default=0.0, ge=0.0, le=60.0)

    @field_validator("base_url", "base_file_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_accepts(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("use 1 to 256 of the characters A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> TelegramSettings:
        if self.token is not None and self.mode == "webhook":
            if not self.webhook_url:
                raise ValueError("telegram.webhook_url is required when telegram.mode is webhook")
            if self.base_url is None and not self.webhook_url.startswith("https://"):
                # Telegram only posts to https; a self-hosted Bot API server may use http.
                raise ValueError("telegram.webhook_url must be https:// (Telegram's rule)")
        return self


class DiscordSettings(_Section):
    token: SecretStr | None = None
    # Token-gated roles: seconds between looks at the ledger's changes, and between re-checks
    # of every gate (which also repair what a failed call left).
    roles_every: float = Field(default=5.0, gt=0, le=3600)
    roles_recheck_every: float = Field(default=600.0, gt=0, le=86_400)


class ChainSettings(_Section):
    # Empty: an EVM embedded in the bot (in memory, rebuilt from the ledger at start-up).
    rpc_url: str | None = None
    # The BIP-39 mnemonic of the bot's keys (minter = index 0, fans = their user id).
    mnemonic: SecretStr | None = None
    # Where a generated mnemonic is kept when none is configured (outside the repo).
    mnemonic_file: Path = Path("~/.local/share/one-bot/mnemonic")


class StripeSettings(_Section):
    # Empty: the sandbox (a local Stripe-compatible server and checkout page, no real money).
    api_key: SecretStr | None = None
    # The signing secret of the Stripe webhook endpoint (whsec_…); required with api_key.
    webhook_secret: SecretStr | None = None
    # Another Stripe-compatible API server (tests); empty: Stripe itself.
    api_base: str | None = None

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _key_needs_secret(self) -> StripeSettings:
        if self.api_key is not None and self.webhook_secret is None:
            raise ValueError(
                "payments.stripe.webhook_secret is required with payments.stripe.api_key"
            )
        return self


class StarsSettings(_Section):
    # Telegram Stars (XTR) invoices, on Telegram only.
    enabled: bool = True
    # Stars charged per US dollar of the token price (rounded up to whole Stars).
    stars_per_usd: int = Field(default=50, ge=1, le=10_000)
    # The most Stars one invoice asks for (Telegram's limit); a larger total is not offered.
    max_per_invoice: int = Field(default=10_000, ge=1, le=1_000_000)


class PaymentsSettings(_Section):
    # The most tokens one /buy may ask for.
    max_tokens: int = Field(default=10_000, ge=1, le=1_000_000_000)
    # The address fans open the checkout page at; empty: http://web.host:web.port.
    public_url: str | None = None
    # Seconds between resuming unfinished purchases, and between ledger/chain reconciliations.
    resume_every: float = Field(default=30.0, gt=0, le=86_400)
    # Seconds between asking the providers for payments no webhook delivered.
    recover_every: float = Field(default=120.0, gt=0, le=86_400)
    reconcile_every: float = Field(default=600.0, gt=0, le=86_400)
    # Failed mint attempts (one per resume) before a purchase is refunded.
    mint_attempts: int = Field(default=10, ge=1, le=1000)
    # Seconds between settlements: ledger movements made without a chain transaction (clone
    # chat costs and rewards) minted or burned on chain, netted per holder and token.
    settle_every: float = Field(default=10.0, gt=0, le=86_400)
    stripe: StripeSettings = StripeSettings()
    stars: StarsSettings = StarsSettings()

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// address")
        return value.rstrip("/") if value else value


class LlmSettings(_Section):
    # Any OpenAI-compatible server (OpenAI, Ollama, vLLM …); without a model the clones answer
    # offline, by quoting the creator's knowledge.
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    # Enables hybrid (words + meaning) knowledge search; needs base_url.
    embedding_model: str | None = None
    # Seconds to wait for the model (to connect, and between two pieces of an answer).
    timeout: float = Field(default=30.0, gt=0, le=60)
    max_retries: int = Field(default=2, ge=0, le=5)
    # The longest answer, in model tokens (about 4 characters each): fits one chat message.
    max_tokens: int = Field(default=800, ge=16, le=8192)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _model_needs_server(self) -> LlmSettings:
        if (self.model or self.embedding_model) and not self.base_url:
            raise ValueError("llm.base_url is required with llm.model or llm.embedding_model")
        return self


class KnowledgeSettings(_Section):
    # Where the LanceDB tables of creators' knowledge are kept; empty: a "knowledge" folder
    # beside the SQLite file (data/knowledge with PostgreSQL).
    path: Path | None = None
    max_file_mb: int = Field(default=10, ge=1, le=20)  # Telegram bots can fetch 20 MB at most
    chunk_characters: int = Field(default=800, ge=200, le=8000)
    overlap_characters: int = Field(default=120, ge=0, le=2000)
    top_k: int = Field(default=5, ge=1, le=20)

    @model_validator(mode="after")
    def _overlap_smaller(self) -> KnowledgeSettings:
        if self.overlap_characters >= self.chunk_characters:
            raise ValueError("knowledge.overlap_characters must be below chunk_characters")
        return self


class ClonesSettings(_Section):
    # Messages one fan may send to clones per window (seconds); more get a "slow down".
    rate_limit: int = Field(default=10, ge=1, le=1000)
    rate_window: float = Field(default=60.0, gt=0, le=86_400)
    # The most tokens one fan can earn from one clone per UTC day.
    daily_reward_cap: int = Field(default=100, ge=0, le=1_000_000)
    history_turns: int = Field(default=10, ge=0, le=50)


class JourneyStepSettings(_Section):
    kind: Literal["question", "report", "payment_gate", "message", "rating", "referral"]
    # Hours before this step (after the previous one; the first: after the follow).
    wait_hours: float = Field(default=0.0, ge=0, le=24 * 90)
    text: str = Field(min_length=1, max_length=1500)
    buttons: tuple[Literal["buy", "chat", "follow"], ...] = ()
    # payment_gate
    amount_usd: int = Field(default=100, ge=1, le=100_000)
    remind_every_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    deadline_hours: float = Field(default=24.0 * 7, gt=0, le=24 * 90)
    reminder_text: str = ""
    ended_text: str = ""
    # report
    report_text: str = ""


def _default_steps(given: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {**defaults, **(given.get(name) or {})} for name, defaults in DEFAULT_STEPS.items()
    }


class JourneysSettings(_Section):
    # 1 = real time; 86400 makes a day of the journey pass in a second (demos, tests).
    time_scale: float = Field(default=1.0, gt=0, le=10_000_000)
    # Seconds between engine ticks, and runs performed per tick's transaction.
    tick_every: float = Field(default=1.0, gt=0, le=3600)
    batch: int = Field(default=200, ge=1, le=10_000)
    # Seconds a claimed run (or outbox message) is one process's before another may take it.
    lease: float = Field(default=60.0, ge=1, le=3600)
    # Seconds between drains of the outbox (journey steps, broadcasts), and messages claimed
    # per drain (sent 8 at a time, at the platforms' pace).
    outbox_every: float = Field(default=1.0, gt=0, le=3600)
    outbox_batch: int = Field(default=100, ge=1, le=10_000)
    # Tokens a fan earns when a new person joins through their share link.
    referral_reward: int = Field(default=25, ge=0, le=1_000_000)
    # Each step may be given in part: what is not given comes from the built-in journey.
    steps: dict[str, JourneyStepSettings] = Field(
        default_factory=lambda: {
            name: JourneyStepSettings(**step) for name, step in _default_steps({}).items()
        }
    )

    @field_validator("steps", mode="before")
    @classmethod
    def _over_defaults(cls, value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        unknown = sorted(set(value) - set(DEFAULT_STEPS))
        if unknown:
            raise ValueError(f"unknown steps {unknown}; the steps are {', '.join(DEFAULT_STEPS)}")
        return _default_steps(value)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class ConsoleSettings(_Section):
    # The person typing before any /as NAME.
    default_person: str = Field(default="guest", min_length=1, max_length=32)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    chain: ChainSettings = ChainSettings()
    payments: PaymentsSettings = PaymentsSettings()
    llm: LlmSettings = LlmSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    clones: ClonesSettings = ClonesSettings()
    journeys: JourneysSettings = JourneysSettings()
    web: WebSettings = WebSettings()
    console: ConsoleSettings = ConsoleSettings()
    logging: LoggingSettings = LoggingSettings()


# Dotted keys that may only come from the environment.
SECRET_KEYS = frozenset(
    {
        "telegram.token",
        "telegram.webhook_secret",
        "discord.token",
        "chain.mnemonic",
        "payments.stripe.api_key",
        "payments.stripe.webhook_secret",
        "llm.api_key",
    }
)


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the YAML file, apply environment overrides, validate; SettingsError if unusable."""
    path = config_file or DEFAULT_CONFIG
    environ = os.environ if environ is None else environ
    # An installed (non-editable) copy has no repo config.yaml; the models hold the same defaults.
    data = _read_yaml(path) if config_file or DEFAULT_CONFIG.exists() else {}
    for key in sorted(SECRET_KEYS):
        if _lookup(data, key) not in (None, ""):
            env = ENV_PREFIX + key.replace(".", "__").upper()
            raise SettingsError(
                f"{key}: a secret; set it in the environment as {env}, not in {path}"
            )
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and value != "":
            parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
            if not all(parts):
                raise SettingsError(f"{name}: expected {ENV_PREFIX}SECTION__KEY")
            _assign(data, parts, value, name)
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(_describe(error, path)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SettingsError(f"{path} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of sections at the top level")
    return data


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _assign(data: dict[str, Any], parts: list[str], value: str, source: str) -> None:
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(f"{source}: {'.'.join(parts)} is not inside a section")
        node = child
    node[parts[-1]] = value


def _describe(error: ValidationError, path: Path) -> str:
    lines = []
    for issue in error.errors():
        key = ".".join(str(part) for part in issue["loc"])
        message = issue["msg"]
        if issue["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{key}: {message}")
    return f"invalid configuration ({path} and {ENV_PREFIX}* environment):\n  " + "\n  ".join(lines)


def webhook_secret(telegram: TelegramSettings) -> str:
    """The configured webhook secret, or one derived from the bot token.

    Derived, not random: several bot processes behind one webhook must all accept what
    Telegram sends them, and each calls setWebhook with the same secret.
    """
    if telegram.webhook_secret is not None:
        return telegram.webhook_secret.get_secret_value()
    assert telegram.token is not None
    key = telegram.token.get_secret_value().encode()
    return hmac.new(key, b"one-bot telegram webhook", hashlib.sha256).hexdigest()


def knowledge_path(settings: Settings) -> Path:
    """Where creators' knowledge is kept: ``knowledge.path``, or beside the SQLite file."""
    if settings.knowledge.path is not None:
        return settings.knowledge.path.expanduser()
    url = settings.database.url
    if url.startswith("sqlite"):
        return Path(url.split(":///", 1)[1]).expanduser().parent / "knowledge"
    return Path("data/knowledge")


def public_url(settings: Settings) -> str:
    """Where fans reach this bot's web server (checkout pages, payment return pages)."""
    if settings.payments.public_url:
        return settings.payments.public_url
    host = settings.web.host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{settings.web.port}"
