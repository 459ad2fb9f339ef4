"""``hotline worker``: an RQ worker with the gateway's store installed for its jobs."""

from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from channels import media_jobs
from hotline.channels_config import channels_config
from hotline.services import make_redis, make_store
from hotline.settings import Settings
from router import runtime
from router.migrate import upgrade
from router.queues import TRANSCRIBE


def run_worker(settings: Settings, queues: list[str], *, burst: bool = False) -> int:
    store = make_store(settings)
    upgrade(store.db)
    runtime.install(store)
    twilio = channels_config(settings).twilio
    if twilio.account_sid and twilio.auth_token:  # MMS pictures fetched by the media job
        media_jobs.install(media_jobs.MediaConfig(twilio.account_sid, twilio.auth_token,
                                                  settings.media_path))
    if TRANSCRIBE in queues:
        from transcription import runtime as transcription_runtime

        # Load the model before RQ forks its work horses: one shared copy, not one per job.
        transcription_runtime.install(data_dir=settings.data_dir, vosk_model=settings.vosk_model,
                                      media_dir=settings.media_path, preload=True)
    redis = make_redis(settings)
    worker = Worker(queues, connection=redis, serializer=JSONSerializer)
    ok = worker.work(burst=burst, with_scheduler=False)
    return 0 if ok or not burst else 1
