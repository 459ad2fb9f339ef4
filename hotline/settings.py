"""Gateway settings, read from ``HOTLINE_*`` environment variables or a ``.env`` file.

Built by :func:`load_settings` (never at import time). Secrets have no defaults; a channel whose
secrets are unset is disabled, and placeholder secrets are refused outside development.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# listening addresses that are no address to connect to
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound
PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "test", "example"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production"] = "production"
    http_host: str = "127.0.0.1"
    http_port: int = 8096
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    audiosocket_port: int = 4574
    # The address Asterisk connects to for AudioSocket (EXEC AudioSocket uuid,HOST:PORT);
    # unset: the AGI host when that is a specific address, else 127.0.0.1.
    audiosocket_host: str | None = None
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    public_url: str | None = None
    timezone: str = "Asia/Shanghai"
    max_body_bytes: int = 1024 * 1024
    # The resident web form carries up to four photos: its own, larger limit.
    max_upload_bytes: int = 4 * 8 * 1024 * 1024 + 256 * 1024
    log_level: str = "INFO"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_max_clock_skew: int = 300
    web_secret: SecretStr | None = None

    vosk_model: Path | None = None
    # live: the call streams over AudioSocket to Vosk in `hotline agi` and the transcript is on
    # the ticket when the caller stops talking; batch: RECORD FILE, then the RQ job.
    transcribe: Literal["live", "batch"] = "live"
    prompts_dir: Path | None = None
    recordings_dir: Path | None = None
    spool_dir: Path | None = None

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str | None = None
    ami_secret: SecretStr | None = None

    workers: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "development":
            return self
        for name in (
            "twilio_auth_token", "wechat_token", "wechat_aes_key", "ami_secret", "web_secret"
        ):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"HOTLINE_{name.upper()} is a placeholder; set a real secret "
                    "(or HOTLINE_ENV=development for local experiments)"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hotline.sqlite3').resolve()}"

    @property
    def redis_socket(self) -> Path:
        """Unix socket of the private redis-server that ``hotline run`` starts (in a
        mode-700 folder of its own, beside its append-only file)."""
        return (self.data_dir / "redis" / "redis.sock").resolve()

    @property
    def resolved_redis_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        return f"unix://{self.redis_socket}"

    def dir(self, configured: Path | None, default: str) -> Path:
        return (configured or self.data_dir / default).resolve()

    def audiosocket_connect_host(self, bind_host: str | None = None) -> str:
        """Where Asterisk reaches the AudioSocket server listening on ``bind_host`` (default
        ``agi_host``): ``HOTLINE_AUDIOSOCKET_HOST``, else the bind address unless it is a
        wildcard (0.0.0.0, ::), else 127.0.0.1."""
        if self.audiosocket_host:
            return self.audiosocket_host
        host = bind_host or self.agi_host
        return "127.0.0.1" if host.strip("[]") in WILDCARD_HOSTS else host

    @property
    def recordings_path(self) -> Path:
        return self.dir(self.recordings_dir, "recordings")

    @property
    def media_path(self) -> Path:
        return self.dir(None, "media")

    @property
    def spool_path(self) -> Path:
        return self.dir(self.spool_dir, "spool")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and ``.env``); keyword overrides win."""
    return Settings(**overrides)  # type: ignore[arg-type]
