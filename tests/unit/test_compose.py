"""docker-compose.yml and the Dockerfile, checked without a Docker engine."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_setting_is_configured_for_the_bot(compose: dict[str, Any]) -> None:
    environment = compose["services"]["bot"]["environment"]
    assert set(environment) == {name.upper() for name in Settings.model_fields}


_SUBSTITUTION = re.compile(r"\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}")


def test_the_compose_defaults_are_valid_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose fills each ${VAR:-default} with its default when the operator sets nothing."""
    operator_sets = {"BOT_TOKEN": "123456:token-from-botfather"}
    for name, template in compose["services"]["bot"]["environment"].items():
        value = _SUBSTITUTION.sub(lambda m: operator_sets.get(m[1], m[2] or ""), str(template))
        monkeypatch.setenv(name, value)
    settings = load_settings(None)
    assert settings.database_url.startswith("postgresql+asyncpg://stillpoint:stillpoint@db:5432/")
    assert settings.operator_chat_id is None


def test_the_bot_needs_a_token_from_the_operator(compose: dict[str, Any]) -> None:
    token = compose["services"]["bot"]["environment"]["BOT_TOKEN"]
    assert token.startswith("${BOT_TOKEN:?")


def test_the_bot_uses_the_compose_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    url = urlsplit(services["bot"]["environment"]["DATABASE_URL"])
    assert url.scheme == "postgresql+asyncpg"
    assert url.hostname == "db"
    assert url.path.lstrip("/") == services["db"]["environment"]["POSTGRES_DB"]
    assert url.username == services["db"]["environment"]["POSTGRES_USER"]


def test_the_bot_waits_for_a_healthy_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["bot"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])


def test_the_database_keeps_its_data_in_a_named_volume(compose: dict[str, Any]) -> None:
    volume, mount = compose["services"]["db"]["volumes"][0].split(":", 1)
    assert volume in compose["volumes"]
    assert mount == "/var/lib/postgresql/data"


def test_the_bot_migrates_then_runs(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["bot"]["command"])
    assert command.index("stillpoint migrate") < command.index("stillpoint run")
    assert "&&" in command
    assert compose["services"]["bot"]["stop_signal"] == "SIGTERM"


def test_the_image_installs_the_packages_and_runs_the_bot() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("bot", "handlers", "messages"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "pip install ." in dockerfile
    assert 'CMD ["stillpoint", "run"]' in dockerfile
    assert "USER stillpoint" in dockerfile


def test_the_data_key_file_lives_in_its_own_volume_the_bot_may_write(
    compose: dict[str, Any],
) -> None:
    bot = compose["services"]["bot"]
    volume, mount = bot["volumes"][0].split(":", 1)
    assert volume in compose["volumes"]
    assert volume != compose["services"]["db"]["volumes"][0].split(":", 1)[0]
    assert bot["environment"]["DATA_KEY_FILE"] == "${DATA_KEY_FILE-/keys/stillpoint.key}"
    assert mount == "/keys"
    assert "install -d -o stillpoint -m 700 /keys" in (ROOT / "Dockerfile").read_text()


def test_the_bot_is_healthy_by_its_healthz(compose: dict[str, Any]) -> None:
    check = " ".join(compose["services"]["bot"]["healthcheck"]["test"])
    assert "/healthz" in check
    assert "HEALTH_PORT" in check


def test_webhook_mode_is_two_replicas_and_a_worker_on_postgresql(compose: dict[str, Any]) -> None:
    services = compose["services"]
    replicas, worker = services["bot-webhook"], services["worker"]
    assert replicas["profiles"] == worker["profiles"] == ["webhook"]
    assert replicas["deploy"]["replicas"] == 2
    assert "stillpoint run --webhook-url" in " ".join(replicas["command"])
    assert "stillpoint run --no-updates" in " ".join(worker["command"])
    for service in (replicas, worker):
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
    assert "bot-webhook:8443" in services["proxy"]["command"]
