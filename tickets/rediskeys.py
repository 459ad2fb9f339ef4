"""Every Redis key and channel name the gateway uses (the one place they are spelled).

All live under ``hotline:``, so one Redis may serve the gateway beside other programs and
``redis-cli --scan --pattern 'hotline:*'`` lists everything the gateway keeps. RQ's own keys
(``rq:*``) are RQ's. What is durable lives in the database; these are markers, locks, streams
and live state that the gateway rebuilds or can lose.
"""

from __future__ import annotations

PREFIX = "hotline:"

# outbox relay: "this outbox row is on RQ" (tickets/relay.py)
OUTBOX_MARKER = PREFIX + "outbox:"
# outbox relay: written after each batch so WAIT can tell a replica copied it (replication.py)
RELAY_SYNC = PREFIX + "outbox:sync"
# workers: "this worker's process lives", renewed every few seconds (tickets/jobrecovery.py)
WORKER_ALIVE = PREFIX + "worker:alive:"
# delivery: one drain per destination, "a follow-up drain is written", a destination's stream
DELIVER_LOCK = PREFIX + "deliver:lock:"
DELIVER_AGAIN = PREFIX + "deliver:again:"
DESTINATION_STREAM = PREFIX + "dest:"
# WeChat: (timestamp, nonce) pairs already seen (replayed pushes)
WECHAT_NONCE = PREFIX + "wechat:nonce:"
# the official account's API access token (wechatpy's RedisStorage under this prefix)
WECHAT_TOKEN = PREFIX + "wechat:token:"
# the IVR's live calls for the console: pub/sub channel, snapshots, their index, takeovers
IVR_CALLS = PREFIX + "ivr:calls"
IVR_CALL = PREFIX + "ivr:call:"
IVR_CALLS_INDEX = PREFIX + "ivr:calls:index"
IVR_TAKEOVER = PREFIX + "ivr:takeover:"
# live transcripts, one pub/sub channel per call topic, and the transcriber's counters
TRANSCRIPT = PREFIX + "transcript:"
TRANSCRIPTS = TRANSCRIPT + "*"
TRANSCRIPTION_METRICS = PREFIX + "metrics:transcription"


def outbox_marker(job_id: str) -> str:
    return OUTBOX_MARKER + job_id


def worker_alive(worker_name: str) -> str:
    return WORKER_ALIVE + worker_name


def deliver_lock(destination: str) -> str:
    return DELIVER_LOCK + destination


def deliver_again(destination: str) -> str:
    return DELIVER_AGAIN + destination


def destination_stream(destination: str) -> str:
    return DESTINATION_STREAM + destination


def wechat_nonce(key: str) -> str:
    return WECHAT_NONCE + key


def ivr_call(topic: str) -> str:
    return IVR_CALL + topic


def ivr_takeover(topic: str) -> str:
    return IVR_TAKEOVER + topic


def transcript(topic: str) -> str:
    return TRANSCRIPT + topic
