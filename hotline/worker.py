"""``hotline worker``: an RQ worker with the gateway's store installed for its jobs."""

from __future__ import annotations

import logging

from rq import Worker
from rq.serializers import JSONSerializer

from channels import media_jobs
from hotline.channels_config import channels_config
from hotline.cli import CliError
from hotline.services import make_redis, make_store
from hotline.settings import Settings
from router import runtime
from router.migrate import upgrade
from router.queues import TRANSCRIBE

log = logging.getLogger(__name__)


def run_worker(settings: Settings, queues: list[str], *, burst: bool = False,
               explicit: bool = True) -> int:
    """Serve ``queues``. ``explicit=False`` (no queue named on the command line): a missing
    Vosk model drops the transcribe queue with a loud error instead of stopping dispatch too."""
    store = make_store(settings)
    upgrade(store.db)
    # RQ forks a work horse per job: no pooled connection may cross the fork (two processes
    # on one PostgreSQL socket could share a transaction). Each horse opens its own.
    store.db.dispose()
    runtime.install(store)
    twilio = channels_config(settings).twilio
    if twilio.account_sid and twilio.auth_token:  # MMS pictures fetched by the media job
        media_jobs.install(media_jobs.MediaConfig(twilio.account_sid, twilio.auth_token,
                                                  settings.media_path))
    if TRANSCRIBE in queues:
        from transcription import runtime as transcription_runtime
        from transcription.models import ModelNotFound

        try:
            # Load the model before RQ forks its work horses: one shared copy, not one per job.
            transcription_runtime.install(data_dir=settings.data_dir,
                                          vosk_model=settings.vosk_model,
                                          media_dir=settings.media_path, preload=True)
        except ModelNotFound as exc:
            if explicit:
                raise CliError(str(exc)) from None
            log.error("not serving the %s queue: %s", TRANSCRIBE, exc)
            queues = [q for q in queues if q != TRANSCRIBE]
    redis = make_redis(settings)
    worker = Worker(queues, connection=redis, serializer=JSONSerializer)
    ok = worker.work(burst=burst, with_scheduler=False)
    return 0 if ok or not burst else 1
