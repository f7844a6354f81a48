"""Settings: YAML defaults, environment overrides, --config FILE, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings


def test_embedded_defaults_load() -> None:
    settings = load_settings(environ={})
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert settings.telegram.token is None
    assert settings.telegram.mode == "polling"
    assert settings.web.port == 8080


def test_config_yaml_and_the_built_in_defaults_agree() -> None:
    assert load_settings(environ={}) == Settings()


def test_environment_overrides_nested_keys() -> None:
    settings = load_settings(
        environ={
            "ONE_BOT__WEB__PORT": "9000",
            "ONE_BOT__TELEGRAM__MODE": "webhook",
            "ONE_BOT__TELEGRAM__WEBHOOK_URL": "https://bot.example.com",
            "ONE_BOT__TELEGRAM__TOKEN": "123:abc",
            "ONE_BOT__LOGGING__LEVEL": "debug",
            "UNRELATED": "x",
        }
    )
    assert settings.web.port == 9000
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:abc"
    assert settings.logging.level == "DEBUG"


def test_secrets_never_show_in_reprs() -> None:
    settings = load_settings(environ={"ONE_BOT__TELEGRAM__TOKEN": "123:very-secret"})
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_config_file_replaces_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "other.yaml"
    config.write_text("web:\n  port: 7000\ndatabase:\n  url: sqlite+aiosqlite:///x.db\n")
    settings = load_settings(config, environ={})
    assert settings.web.port == 7000
    assert settings.database.url == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ONE_BOT__WEB__PORT": "eighty"}, "web.port"),
        ({"ONE_BOT__WEB__PORT": "70000"}, "web.port"),
        ({"ONE_BOT__TELEGRAM__MODE": "carrier-pigeon"}, "telegram.mode"),
        (
            {"ONE_BOT__TELEGRAM__MODE": "webhook", "ONE_BOT__TELEGRAM__TOKEN": "1:a"},
            "telegram.webhook_url is required",
        ),
        ({"ONE_BOT__TELEGRAM__POLL_INTERVAL": "-1"}, "telegram.poll_interval"),
        (
            {
                "ONE_BOT__TELEGRAM__MODE": "webhook",
                "ONE_BOT__TELEGRAM__TOKEN": "1:a",
                "ONE_BOT__TELEGRAM__WEBHOOK_URL": "http://bot.example.com",
            },
            "must be https://",
        ),
        ({"ONE_BOT__TELEGRAM__BASE_URL": "bot.example.com"}, "telegram.base_url"),
        ({"ONE_BOT__TELEGRAM__WEBHOOK_SECRET": "bad secret!"}, "telegram.webhook_secret"),
        ({"ONE_BOT__DATABASE__URL": "mysql://x"}, "database.url"),
        ({"ONE_BOT__DATABASE__URL": "sqlite+aiosqlite:///:memory:"}, "must name a SQLite file"),
        ({"ONE_BOT__WEB__PROT": "80"}, "web.prot: unknown setting"),
        ({"ONE_BOT__NOSECTION__KEY": "1"}, "nosection"),
        ({"ONE_BOT__WEB": "1"}, "web"),
    ],
)
def test_bad_values_are_refused_naming_the_key(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ=environ)
    assert named in str(refused.value)


def test_secret_in_a_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "leaky.yaml"
    config.write_text("telegram:\n  token: '123:abc'\n")
    with pytest.raises(SettingsError, match=r"telegram.token.*ONE_BOT__TELEGRAM__TOKEN"):
        load_settings(config, environ={})


def test_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml", environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("web: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(broken, environ={})
