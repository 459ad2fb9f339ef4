"""``hotline worker``: an RQ worker whose jobs get one context with everything they use.

The context is built once and serves every job (the worker does not fork per job, see
:mod:`tickets.worker`): the store, the media folder, the Twilio credentials for MMS pictures,
the router and, when the ``transcribe`` queue is served, a client of the recognizer processes
``hotline agi`` runs (:mod:`transcription.batchservice`): the worker never loads the Vosk model,
so a machine holds one copy of it however many workers it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from redis import Redis

from channels.notify import Sender
from channels.twilio_sms.config import TwilioConfig
from channels.twilio_sms.media import TWILIO_MEDIA_HOSTS
from channels.twilio_sms.notify import TwilioSender, TwilioSenderConfig
from channels.webform import statuslink
from channels.wechat.notify import WechatSender, WechatSenderConfig
from delivery import plan
from delivery.destinations import Destinations
from hotline.callback_dialer import dialer_for, policy_for
from hotline.channels_config import twilio_config
from hotline.context import CliContext
from hotline.errors import CliError
from hotline.settings import Settings
from hotline.wiring import sms_fallback
from ivr.callback_job import CallbackPolicy, Dialer, SmsFallback
from router import classify, routerconfig
from router.context import Handover, Router
from router.yamlfile import ConfigError
from tickets.model import Ticket
from tickets.queues import QueueName
from tickets.quiethours import QuietHours
from tickets.store import Store, now_utc
from tickets.worker import ContextWorker, work_through_outages
from transcription.batch import FileRecognizer
from transcription.batchclient import RemoteRecognizer
from transcription.models import ModelNotFound, locate

log = logging.getLogger(__name__)


class NoEngine(RuntimeError):
    pass


@dataclass(frozen=True)
class WorkerContext:
    """Satisfies every room's job context (router, channels, transcription)."""

    store: Store
    media_dir: Path
    twilio: TwilioConfig = field(default_factory=TwilioConfig)
    twilio_media_hosts: frozenset[str] = TWILIO_MEDIA_HOSTS
    asr: FileRecognizer | None = None
    # delivery to destinations (delivery.deliveries): the gateway's Redis (locks, streams), how
    # each destination is reached, and the clock deliveries are scheduled by
    redis: Redis | None = None
    destinations: Destinations = field(default_factory=Destinations)
    clock: Callable[[], datetime] = now_utc
    # routing (router.dispatch): the reviewed configuration and the trained classifier, and
    # how a routed ticket is handed to the delivery room
    router: Router | None = None
    handover: Handover = plan.handover
    # the callback call (ivr.callback_job): the AMI dialer (None: AMI not configured), the
    # attempts and their spacing, and the SMS after the last unanswered attempt (None: none)
    dialer: Dialer | None = None
    callback_policy: CallbackPolicy = field(default_factory=CallbackPolicy)
    sms_fallback: SmsFallback | None = None
    # notifications to residents (channels.notify): the senders (None: not configured, the
    # notification is skipped) and the quiet hours
    sms_sender: Sender | None = None
    wechat_sender: Sender | None = None
    quiet_hours: QuietHours | None = None
    status_link: Callable[[Ticket], str | None] | None = None

    @property
    def engine(self) -> FileRecognizer:
        if self.asr is None:
            raise NoEngine("this worker has no Vosk model (it does not serve 'transcribe')")
        return self.asr


def destinations_config(settings: Settings) -> Destinations:
    """``HOTLINE_WEBHOOKS``, ``HOTLINE_STREAMS`` and the delivery policy (checked by
    :class:`~hotline.settings.Settings` already)."""
    return Destinations.from_settings(settings.webhooks, settings.streams,
                                      max_attempts=settings.delivery_max_attempts,
                                      timeout=settings.delivery_timeout)


def sms_sender(settings: Settings) -> TwilioSender | None:
    """Twilio's REST client for outbound SMS; None (SMS notifications skipped) until the
    account SID, the auth token and ``HOTLINE_TWILIO_FROM`` are set."""
    token = settings.twilio_auth_token
    if not (settings.twilio_account_sid and token and settings.twilio_from):
        return None
    return TwilioSender(TwilioSenderConfig(
        account_sid=settings.twilio_account_sid, auth_token=token.get_secret_value(),
        from_=settings.twilio_from, api_url=settings.twilio_api_url,
        public_url=settings.public_url))


def wechat_sender(settings: Settings, redis: Redis, store: Store) -> WechatSender | None:
    """wechatpy's client for messages to followers; None (WeChat notifications skipped) until
    ``HOTLINE_WECHAT_APP_ID`` and ``HOTLINE_WECHAT_APP_SECRET`` are set."""
    secret = settings.wechat_app_secret
    if not (settings.wechat_app_id and secret):
        return None
    return WechatSender(WechatSenderConfig(
        app_id=settings.wechat_app_id, app_secret=secret.get_secret_value(),
        api_url=settings.wechat_api_url, templates=settings.wechat_templates), redis, store.db)


def status_link(settings: Settings) -> Callable[[Ticket], str | None] | None:
    """The web-form resident's status page as an absolute URL (HOTLINE_PUBLIC_URL and
    HOTLINE_WEB_SECRET both set), for the SMS that tells them of the unit's reply."""
    secret, public = settings.web_secret, settings.public_url
    if secret is None or not public:
        return None
    key = secret.get_secret_value()

    def link(ticket: Ticket) -> str:
        return public.rstrip("/") + statuslink.path(key, ticket.id)

    return link


def load_router(settings: Settings) -> Router:
    """The router's configuration (a bad file is a one-line error naming file:line) and its
    classifier (without one, rules alone decide and the rest goes to a person)."""
    try:
        config = routerconfig.load(settings.router_config_dir)
    except ConfigError as exc:
        raise CliError(f"the router configuration has problems:\n{exc}") from None
    try:
        model = classify.load(settings.classifier_path)
    except classify.ModelUnusable as exc:
        log.warning("%s; categories come from the catalogue's rules alone until then", exc)
        model = None
    return Router(config, model)


def run_worker(ctx: CliContext, queues: list[QueueName], *, burst: bool = False,
               explicit: bool = True) -> int:
    """Serve ``queues``. ``explicit=False`` (no queue named on the command line): a missing
    Vosk model drops the transcribe queue with a loud error instead of stopping dispatch too."""
    context, queues = worker_context(ctx, queues, explicit=explicit)
    ok = work_through_outages(
        lambda: ContextWorker(queues, connection=ctx.redis, context=context), burst=burst)
    return 0 if ok or not burst else 1


def worker_context(ctx: CliContext, queues: list[QueueName], *,
                   explicit: bool = True) -> tuple[WorkerContext, list[QueueName]]:
    """The one context every job of the worker gets, and the queues it can serve (see
    :func:`run_worker`)."""
    settings = ctx.settings
    store = ctx.store
    engine = None
    if QueueName.transcribe in queues:
        try:
            # the model's name only: its recognizer processes (hotline agi) hold it
            model = locate(settings.vosk_model, settings.data_dir)
            engine = RemoteRecognizer(settings.recognizer_socket, model.name)
        except ModelNotFound as exc:
            if explicit:
                raise CliError(str(exc)) from None
            log.error("not serving the %s queue: %s", QueueName.transcribe.value, exc)
            queues = [q for q in queues if q is not QueueName.transcribe]
    context = WorkerContext(store=store, media_dir=settings.media_path,
                            twilio=twilio_config(settings), asr=engine, redis=ctx.redis,
                            destinations=destinations_config(settings),
                            router=load_router(settings), dialer=dialer_for(settings),
                            callback_policy=policy_for(settings), sms_fallback=sms_fallback,
                            sms_sender=sms_sender(settings),
                            wechat_sender=wechat_sender(settings, ctx.redis, store),
                            quiet_hours=settings.quiet, status_link=status_link(settings))
    return context, queues
