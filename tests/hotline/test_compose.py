"""The deployment: ``docker-compose config`` (Debian's docker-compose) accepts the compose file,
refuses to run without the database password, and wires the services as documented."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.settings import Settings
from tickets.queues import QueueName

REPO = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
GATEWAY = ("migrate", "prompts", "models", "serve", "worker", "transcriber", "relay", "agi",
           "spool", "callbacks")
SHARED = "/var/lib/hotline-96010"

pytestmark = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")


ASTERISK_SECRETS = {"ASTERISK_AMI_SECRET": "ami-5d1e8b", "ASTERISK_ARI_PASSWORD": "ari-77c2a0"}


def compose(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run docker-compose on the repo's file with only the given variables (no .env)."""
    empty = tmp_path / "empty.env"
    empty.touch()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("HOTLINE_", "POSTGRES_", "COMPOSE_"))}
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "--project-directory", str(REPO), "-f", str(REPO / "docker-compose.yml"),
         "--env-file", str(empty), *args],
        env={**clean, **ASTERISK_SECRETS, **env}, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )


def volumes(service: dict[str, Any]) -> set[tuple[str, str]]:
    """(source, target) of each mount; docker-compose 1.x prints ``src:target:mode``."""
    found = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found.add((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            found.add((source, target))
    return found


def host_ips(service: dict[str, Any]) -> list[str]:
    """The host address of each published port (``ip:host:container/proto`` or long form)."""
    return [port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            for port in service["ports"]]


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "hotline.env"
    path.write_text("HOTLINE_WECHAT_TOKEN=3f1c9a7e5b2d4c6a\n")
    return path


@pytest.fixture
def config(tmp_path: Path, settings_file: Path) -> dict[str, Any]:
    result = compose(tmp_path, "config", POSTGRES_PASSWORD="pw-4e2f9c",
                     HOTLINE_ENV_FILE=str(settings_file))
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = yaml.safe_load(result.stdout)
    return loaded


def test_config_is_accepted(tmp_path: Path, settings_file: Path) -> None:
    result = compose(tmp_path, "config", "-q", POSTGRES_PASSWORD="pw-4e2f9c",
                     HOTLINE_ENV_FILE=str(settings_file))
    assert result.returncode == 0, result.stderr


def test_the_database_password_has_no_default(tmp_path: Path, settings_file: Path) -> None:
    result = compose(tmp_path, "config", "-q", HOTLINE_ENV_FILE=str(settings_file))
    assert result.returncode != 0
    assert "set every one of POSTGRES_PASSWORD" in result.stderr


@pytest.mark.parametrize("name", sorted(ASTERISK_SECRETS))
def test_the_asterisk_secrets_have_no_default(tmp_path: Path, settings_file: Path,
                                               name: str) -> None:
    result = compose(tmp_path, "config", "-q", POSTGRES_PASSWORD="pw-4e2f9c",
                     HOTLINE_ENV_FILE=str(settings_file), **{name: ""})
    assert result.returncode != 0
    assert "set every one of POSTGRES_PASSWORD, ASTERISK_AMI_SECRET and " in result.stderr
    assert name in result.stderr


def test_the_settings_file_is_required(tmp_path: Path) -> None:
    result = compose(tmp_path, "config", "-q", POSTGRES_PASSWORD="pw-4e2f9c",
                     HOTLINE_ENV_FILE=str(tmp_path / "missing.env"))
    assert result.returncode != 0
    assert "missing.env" in result.stderr


def test_services_and_images(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {"postgres", "redis", "asterisk", *GATEWAY}
    assert services["redis"]["image"] == "redis:7"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw-4e2f9c"
    assert volumes(services["postgres"]) == {("pgdata", "/var/lib/postgresql/data")}
    assert "pgdata" in config["volumes"]
    asterisk = services["asterisk"]["build"]
    assert Path(asterisk["context"]) == REPO / "asterisk-conf"
    assert asterisk["dockerfile"] == "Dockerfile"


def test_gateway_processes_share_one_image_and_the_settings(
    config: dict[str, Any], settings_file: Path
) -> None:
    services = config["services"]
    commands = {name: services[name]["command"] for name in GATEWAY}
    assert commands == {
        "migrate": ["migrate"], "prompts": ["prompts", "build"],
        "models": ["models", "fetch", "vosk-model-small-cn-0.22", "--if-missing"],
        "serve": ["serve"], "worker": ["worker", "dispatch", "media", "deliver", "notify"],
        "transcriber": ["worker", "transcribe"], "relay": ["relay"], "agi": ["agi"],
        "spool": ["spool", "ingest", "--watch"], "callbacks": ["worker", "callback"],
    }
    for name in GATEWAY:
        service = services[name]
        assert Path(service["build"]["context"]) == REPO
        assert service["build"]["dockerfile"] == "Dockerfile"
        env = service["environment"]
        assert env["HOTLINE_WECHAT_TOKEN"] == "3f1c9a7e5b2d4c6a"  # from the env file
        assert env["HOTLINE_DATABASE_URL"] == (
            "postgresql+psycopg://hotline:pw-4e2f9c@postgres:5432/hotline")
        assert env["HOTLINE_REDIS_URL"] == "redis://redis:6379/0"
    for name in ("serve", "worker", "transcriber", "relay", "agi", "spool", "callbacks"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully")
    # every queue is served: the worker all but transcribe, the transcriber that one
    served = {q for name in ("worker", "transcriber", "callbacks") for q in commands[name][1:]}
    assert served == {q.value for q in QueueName}
    # the callback worker reaches Asterisk's AMI as the console does
    assert services["callbacks"]["environment"]["HOTLINE_AMI_HOST"] == "host.docker.internal"
    for name in ("transcriber", "agi"):  # both load the Vosk model at start
        assert services[name]["depends_on"]["models"]["condition"] == (
            "service_completed_successfully")
        assert services[name]["environment"]["HOTLINE_VOSK_MODEL"] == "vosk-model-small-cn-0.22"


def test_every_setting_the_compose_file_sets_exists(config: dict[str, Any]) -> None:
    for name in GATEWAY:
        for key in config["services"][name]["environment"]:
            assert key.startswith("HOTLINE_"), key
            assert key.removeprefix("HOTLINE_").lower() in Settings.model_fields, key


def test_agi_may_drain_its_calls_before_it_is_killed(config: dict[str, Any]) -> None:
    grace = config["services"]["agi"].get("stop_grace_period", "10s")
    found = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", grace)
    assert found and found.group(0), grace
    seconds = int(found.group(1) or 0) * 60 + int(found.group(2) or 0)
    assert seconds > Settings.model_fields["agi_drain_seconds"].default


def test_asterisk_and_the_gateway_see_the_shared_files_at_the_same_path(
    config: dict[str, Any]
) -> None:
    services = config["services"]

    def shared(name: str) -> set[str]:
        return {target for source, target in volumes(services[name]) if source == "shared"}

    assert shared("asterisk") == {SHARED}
    for name in ("agi", "spool", "worker", "transcriber", "prompts"):
        assert shared(name) == {SHARED}, name
    globals_conf = (REPO / "asterisk-conf" / "hotline-globals.conf")
    if globals_conf.exists():  # the dialplan's folders lie inside the shared volume
        for key in ("PROMPTS", "SPOOL"):
            found = re.search(rf"^{key}\s*=\s*(\S+)", globals_conf.read_text(), re.M)
            assert found and found.group(1).startswith(SHARED + "/"), key


def test_published_ports_are_on_loopback(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("serve", "agi"):
        assert host_ips(services[name]) and set(host_ips(services[name])) == {"127.0.0.1"}
    assert services["asterisk"]["network_mode"] == "host"


def test_dockerfile_is_slim_python_installing_the_package_as_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    # Versions come from the lock alone: hashes required, nothing resolved afterwards.
    assert re.search(r"^RUN pip install --no-compile --no-deps --require-hashes "
                     r"-r requirements\.lock$", text, re.M)
    assert re.search(r"^RUN pip install --no-compile --no-deps --no-build-isolation \.", text, re.M)
    assert "requirements.lock" not in (REPO / ".dockerignore").read_text().split()
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["hotline"\]', text, re.M)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", "*.env", ".venv", "var", ".git"} <= set(ignored)
