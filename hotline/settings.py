"""Gateway settings, read from ``HOTLINE_*`` environment variables or a ``.env`` file.

Built by :func:`load_settings` (never at import time). Secrets have no defaults; a channel whose
secrets are unset is disabled, and placeholder secrets are refused outside development.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import router
from console.config import DEFAULT_SIP_DOMAIN
from console.sipuri import sip_host_problem
from delivery.destinations import (
    WebhookTarget,
    check_pattern,
    parse_webhooks,
    placeholder_problems,
)
from hotline import secretstrength
from tickets import redistarget
from tickets.db import normalize_url
from tickets.quiethours import QuietHours, QuietHoursError
from tickets.ratelimit import parse_rules

# listening addresses that are no address to connect to
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared, never bound
# the SQLAlchemy drivers the store runs on (postgresql:// and postgres:// mean psycopg 3)
DATABASE_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql+psycopg"})
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
    # Redis behind Sentinel (instead of HOTLINE_REDIS_URL): the Sentinels ("host:port,..."),
    # the name they monitor the primary under, the Sentinels' password and the primary's
    redis_sentinels: str | None = None
    redis_sentinel_service: str | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_password: SecretStr | None = None
    public_url: str | None = None
    # Open311 GeoReport v2: the jurisdiction_id clients must send (unset: none is needed)
    open311_jurisdiction: str | None = None
    # Prometheus: the bearer token a scrape must send to /metrics (unset: /metrics answers 503)
    metrics_token: SecretStr | None = None
    # where each process writes its metrics (multiprocess mode); default <data dir>/metrics
    metrics_dir: Path | None = None
    timezone: str = "Asia/Shanghai"
    max_body_bytes: int = 1024 * 1024
    # The resident web form carries up to four photos: its own, larger limit.
    max_upload_bytes: int = 4 * 8 * 1024 * 1024 + 256 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # text: one readable line per record; json: one JSON object per line (for log shippers)
    log_format: Literal["text", "json"] = "text"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_max_clock_skew: int = Field(default=300, ge=10, le=3600)
    # safe | compatible | plain; unset: safe when an AES key is set, else plain
    wechat_mode: Literal["safe", "compatible", "plain"] | None = None
    web_secret: SecretStr | None = None
    # Seconds a text channel waits for the store before it spools the message and answers
    # "已收到，工单号稍后发送" (under the provider's own limit: Twilio 15 s, WeChat 5 s)
    sms_deadline: float = Field(default=10.0, gt=0, le=14)
    wechat_deadline: float = Field(default=4.5, gt=0, le=4.9)
    web_deadline: float = Field(default=10.0, gt=0, le=30)
    # Intakes one `hotline serve` process has in the store at once (every channel's HTTP
    # route); past it the JSON intake answers 503 with Retry-After and a text channel spools
    # the message as when the store is late (tickets.admission)
    max_intakes_in_flight: int = Field(default=32, ge=1, le=1024)
    photo_workers: int = Field(default=2, ge=1, le=16)

    # Per-sender limits ("N/second|minute|hour|day", several joined by ';'; "" = none),
    # shared by every gateway process through Redis.
    rate_limits: bool = True
    rate_limit_sender: str = "10/minute;60/hour;200/day"  # one SMS number or WeChat openid
    rate_limit_web: str = "20/minute;200/hour"  # one client address on /report
    rate_limit_api: str = "1200/minute"  # one API key
    # Client addresses of reverse proxies whose X-Forwarded-For is believed (uvicorn's
    # forwarded_allow_ips), e.g. "10.0.0.5"; unset: the TCP peer is the client.
    forwarded_allow_ips: str | None = None

    vosk_model: Path | None = None
    # live: the call streams over AudioSocket to Vosk in `hotline agi` and the transcript is on
    # the ticket when the caller stops talking; batch: RECORD FILE, then the RQ job.
    transcribe: Literal["live", "batch"] = "live"
    # Live recognition capacity: recognizer processes (each decodes on one core, at a lower
    # CPU priority than the call path) and the live streams each takes; calls beyond it are
    # recorded all the same and transcribed by the batch job. Measured: README "Measured".
    live_processes: int = Field(default=1, ge=0, le=64)
    live_streams_per_process: int = Field(default=4, ge=1, le=8)
    max_record_seconds: int = Field(default=120, ge=10, le=600)
    # On SIGTERM `hotline agi` stops taking calls and lets running ones finish this long
    # (a whole message and its number), then hands what is left back to the dialplan.
    agi_drain_seconds: int = Field(default=150, ge=0, le=3600)
    # the router: its reviewed configuration (catalogue, places, gazetteer, rules) and the
    # classifier `hotline router train` writes
    router_config: Path | None = None
    classifier: Path | None = None
    prompts_dir: Path | None = None
    recordings_dir: Path | None = None
    spool_dir: Path | None = None

    # FastAGI trusts whoever reaches HOTLINE_AGI_PORT; with this set, only requests whose
    # script carries it (agi://GATEWAY:4573/96010?secret=…, AGI_SECRET in the dialplan's
    # hotline-globals.conf) are served: README "Security and reliability".
    agi_secret: SecretStr | None = None

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str | None = None
    ami_secret: SecretStr | None = None
    # The outbound callback call (回访, README "Callback call"): how Asterisk reaches a resident
    # ({number}: national digits such as 01065123456, {e164}: +861065123456), how long it
    # rings, and how often and how far apart an unanswered call is tried again.
    callback_channel: str = "PJSIP/{number}@carrier"
    callback_ring_seconds: int = Field(default=45, ge=5, le=300)
    callback_attempts: int = Field(default=3, ge=1, le=10)
    callback_interval: float = Field(default=7200.0, ge=0, le=7 * 24 * 3600)
    # seconds after a text question with no answer before the resident is called back (0: never)
    callback_after_text: float = Field(default=86400.0, ge=0, le=14 * 24 * 3600)

    workers: int = Field(default=1, ge=0)

    # The local PBX (`hotline pbx`, started by `hotline run` when on; docs/asterisk.md "A PBX
    # for make run"): the Asterisk 22 root scripts/asterisk-root.sh builds, its SIP port
    # (UDP, 127.0.0.1) and its HTTP port (the softphone's WebSocket /ws, 127.0.0.1).
    pbx: bool = False
    pbx_sip_port: int = Field(default=5060, ge=1, le=65535)
    pbx_http_port: int = Field(default=8088, ge=1, le=65535)
    asterisk_root: Path = Path("/var/cache/hotline-96010/asterisk-root")
    # /phone: a resident's phone in the browser (JsSIP over HOTLINE_CONSOLE_SIP_WS to the
    # PJSIP endpoint resident-web, which calls 96010 only), for demos and for testing a
    # deployment; off unless set.
    phone_page: bool = False

    # The operators' console (/console): off (503) until its secret is set. The secret signs
    # the session cookies and the CSRF tokens; at least 32 characters outside development.
    console_secret: SecretStr | None = None
    # The softphone's SIP-over-WebSocket URL as the operators' browsers reach it
    # (wss://console.example/ws behind the reverse proxy, docs/softphone.md); the console's
    # Content-Security-Policy allows connecting to it. Unset: no browser softphone.
    console_sip_ws: str | None = None
    # The SIP domain of the softphone's URI (sip:op-NAME@DOMAIN): a host name or an IP address
    # (JsSIP refuses an all-digit one such as 96010). Asterisk matches operators by user name.
    console_sip_domain: str = DEFAULT_SIP_DOMAIN
    # A console session ends after this long without a request, and in any case after
    # console_session_hours.
    console_idle_minutes: int = Field(default=120, ge=5, le=24 * 60)
    console_session_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Where `hotline operator` writes the operators' PJSIP endpoints (the file pjsip.conf
    # #tryincludes); unset: DATA_DIR/asterisk/pjsip-operators.conf.
    pjsip_operators: Path | None = None

    # Delivery to destinations (docs/deliveries.md). Webhooks: a JSON object
    # {"street:DS": {"url": "https://…", "secret": "…"}, "dept:*": {…}}; streams: a JSON list
    # of ids or patterns (["district", "street:*"]) whose tickets also go to the Redis stream
    # hotline:dest:<id>. A destination with neither is served by the feed alone.
    webhooks: Annotated[dict[str, WebhookTarget], NoDecode] = Field(default_factory=dict)
    streams: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # attempts before a delivery is set aside (10 s doubling to 15 min: 30 span about 6 hours)
    delivery_max_attempts: int = Field(default=30, ge=1, le=1000)
    delivery_timeout: float = Field(default=10.0, gt=0, le=120)

    # Closing the loop with the resident (README "Closing the loop"): Twilio's REST base URL
    # and the sender of outbound SMS; quiet hours ("HH:MM-HH:MM" in HOTLINE_TIMEZONE, "" =
    # none; priority 1 exempt); days a resolved ticket waits for the resident's answer before
    # the back office may close it unanswered; catalogue categories whose residents are also
    # told when their ticket is dispatched (comma-separated codes).
    twilio_api_url: str = "https://api.twilio.com"
    twilio_from: str | None = None
    quiet_hours: str = "22:00-08:00"
    verify_days: int = Field(default=3, ge=1, le=60)
    notify_dispatched: str = ""
    # WeChat outbound (customer-service and template messages): the account's AppSecret (the
    # access token), the API's base URL, and a template id per step (JSON object)
    wechat_app_secret: SecretStr | None = None
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "development":
            return self
        for name in (
            "twilio_auth_token", "wechat_token", "wechat_aes_key", "ami_secret", "web_secret",
            "console_secret", "agi_secret", "metrics_token", "wechat_app_secret",
            "redis_password", "redis_sentinel_password",
        ):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"HOTLINE_{name.upper()} is a placeholder; set a real secret "
                    "(or HOTLINE_ENV=development for local experiments)"
                )
        dev = " (or HOTLINE_ENV=development for local experiments)"
        for name in secretstrength.RULES:
            value = getattr(self, name) if name != "webhooks" else None
            if value is not None and (weak := secretstrength.problem(
                    name, value.get_secret_value())):
                raise ValueError(weak + dev)
        for problem in placeholder_problems(self.webhooks):
            raise ValueError(f"HOTLINE_WEBHOOKS: {problem}{dev}")
        for pattern, target in self.webhooks.items():
            why = secretstrength.weakness(target.secret.get_secret_value(),
                                          secretstrength.RULES["webhooks"])
            if why is not None:
                raise ValueError(f"HOTLINE_WEBHOOKS: the secret of {pattern} {why}: "
                                 f"{secretstrength.RULES['webhooks'].how}{dev}")
        return self

    @model_validator(mode="after")
    def _sentinels(self) -> Settings:
        if not self.redis_sentinels:
            if self.redis_sentinel_service:
                raise ValueError("HOTLINE_REDIS_SENTINEL_SERVICE is set without "
                                 "HOTLINE_REDIS_SENTINELS: set the Sentinels' addresses too")
            return self
        if self.redis_url:
            raise ValueError("HOTLINE_REDIS_URL and HOTLINE_REDIS_SENTINELS are both set: "
                             "unset HOTLINE_REDIS_URL (the Sentinels say where the primary is)")
        if not self.redis_sentinel_service:
            raise ValueError("HOTLINE_REDIS_SENTINELS needs HOTLINE_REDIS_SENTINEL_SERVICE, the "
                             "name the Sentinels monitor the primary under (e.g. mymaster)")
        redistarget.parse_sentinels(self.redis_sentinels)
        return self

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhooks(cls, value: object) -> object:
        if isinstance(value, str):
            value = _json(value, "an object") if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object {"<destination>": {"url": …, "secret": …}}')
        return parse_webhooks(value)

    @field_validator("streams", mode="before")
    @classmethod
    def _streams(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = (_json(text, "a list") if text.startswith(("[", "{"))
                     else [p.strip() for p in text.split(",") if p.strip()])
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ValueError('must be a JSON list of destination ids or patterns ["street:*"]')
        return [check_pattern(p) for p in value]

    @field_validator("console_sip_ws")
    @classmethod
    def _sip_ws(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parsed = urlsplit(value)
        # it goes into a Content-Security-Policy header: no separators of that grammar
        if (parsed.scheme not in ("ws", "wss") or not parsed.netloc
                or any(c.isspace() or c in ";,'\"" for c in value)):
            raise ValueError("must be a WebSocket URL such as wss://console.example/ws")
        return value

    @field_validator("console_sip_domain")
    @classmethod
    def _sip_domain(cls, value: str) -> str:
        problem = sip_host_problem(value.strip())
        if problem is not None:
            raise ValueError(f"{problem}; e.g. {DEFAULT_SIP_DOMAIN}")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone such as Asia/Shanghai") from None
        return value

    @field_validator("callback_channel")
    @classmethod
    def _callback_channel(cls, value: str) -> str:
        if "{number}" not in value and "{e164}" not in value:
            raise ValueError("must name the resident's number as {number} or {e164}, e.g. "
                             "PJSIP/{number}@carrier")
        try:
            value.format(number="0", e164="+0")
        except (KeyError, IndexError, ValueError):
            raise ValueError("only {number} and {e164} may appear in braces") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        try:
            QuietHours.parse(value)
        except QuietHoursError as exc:
            raise ValueError(str(exc)) from None
        return value.strip()

    @field_validator("wechat_templates", mode="before")
    @classmethod
    def _wechat_templates(cls, value: object) -> object:
        if isinstance(value, str):
            value = _json(value, "HOTLINE_WECHAT_TEMPLATES") if value.strip() else {}
        steps = {"resolved", "rejected", "merged", "dispatched", "ask_satisfaction"}
        if isinstance(value, dict):
            unknown = sorted(set(value) - steps)
            if unknown:
                raise ValueError(f"unknown steps {', '.join(unknown)}; steps are "
                                 f"{', '.join(sorted(steps))}")
        return value

    @field_validator("twilio_api_url", "wechat_api_url")
    @classmethod
    def _twilio_api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api.twilio.com")
        return value.rstrip("/")

    @property
    def dispatched_categories(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.notify_dispatched.split(",") if c.strip())

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours, self.timezone)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            driver = make_url(normalize_url(value.strip())).drivername
        except ArgumentError:
            driver = ""
        # the message never repeats the URL: it may hold a password
        if driver not in DATABASE_DRIVERS:
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER:PW@HOST/DB")
        return value.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rate_limit_sender", "rate_limit_web", "rate_limit_api")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_rules(value)
        return value

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
    def recognizer_socket(self) -> Path:
        """Unix socket on which ``hotline agi`` lends its recognizer processes to the batch
        transcription jobs (transcription.batchservice)."""
        return (self.data_dir / "recognizer.sock").resolve()

    @property
    def external_redis(self) -> bool:
        """Redis is run by someone else (a URL or Sentinels): ``hotline run`` starts none."""
        return bool(self.redis_url or self.redis_sentinels)

    @property
    def resolved_redis_url(self) -> str:
        """One URL for every client factory (:mod:`tickets.redisclient`); behind Sentinel a
        ``redis+sentinel://`` URL (:mod:`tickets.redistarget`)."""
        if self.redis_sentinels and self.redis_sentinel_service:
            password, sentinel_password = self.redis_password, self.redis_sentinel_password
            return redistarget.SentinelTarget(
                redistarget.parse_sentinels(self.redis_sentinels), self.redis_sentinel_service,
                password.get_secret_value() if password else None,
                sentinel_password.get_secret_value() if sentinel_password else None).url()
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
    def metrics_path(self) -> Path:
        return self.dir(self.metrics_dir, "metrics")

    @property
    def media_path(self) -> Path:
        return self.dir(None, "media")

    @property
    def router_config_dir(self) -> Path:
        return (self.router_config or Path(router.__file__).with_name("config")).resolve()

    @property
    def classifier_path(self) -> Path:
        return self.dir(self.classifier, "router/classifier.joblib")

    @property
    def pjsip_operators_path(self) -> Path:
        return self.dir(self.pjsip_operators, "asterisk/pjsip-operators.conf")

    @property
    def spool_path(self) -> Path:
        return self.dir(self.spool_dir, "spool")


def _json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"is not JSON ({what} was expected): {exc}") from None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (and ``.env``); keyword overrides win."""
    return Settings(**overrides)  # type: ignore[arg-type]
