"""An SMS/MMS applied to the store: the conversation rule, and media jobs aimed at the ticket
the message lands on (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from channels.conversation import Action
from channels.twilio_sms.parse import Media, SmsMessage
from channels.twilio_sms.service import receive
from tickets.store import Store
from tickets.tables import outbox

PHONE = "+8613912345678"
FETCH = "channels.twilio_sms.media.fetch_twilio_media"
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/"


def message(sid: str, body: str, *pictures: str) -> SmsMessage:
    return SmsMessage(sid=sid, from_=PHONE, to="+861065529601", body=body,
                      media=tuple(Media(MEDIA + p, "image/jpeg") for p in pictures))


def media_jobs(store: Store) -> list[tuple[str, list[object]]]:
    with store.db.read() as conn:
        rows = conn.execute(select(outbox.c.job, outbox.c.args)
                            .where(outbox.c.queue == "media").order_by(outbox.c.id)).all()
    return [(r.job, list(r.args)) for r in rows]


def test_pictures_of_a_new_ticket_and_of_a_follow_up_go_to_that_ticket(store: Store) -> None:
    now = datetime.now(UTC)
    first = receive(store, message("MM1", "井盖丢了", "ME1"), now)
    assert (first.action, first.repeat) == (Action.new, False)
    follow = receive(store, message("MM2", "", "ME2", "ME3"), now + timedelta(minutes=3))
    assert (follow.action, follow.ticket.id) == (Action.follow_up, first.ticket.id)
    ticket_id = first.ticket.id
    assert media_jobs(store) == [
        (FETCH, [ticket_id, MEDIA + "ME1", "image/jpeg"]),
        (FETCH, [ticket_id, MEDIA + "ME2", "image/jpeg"]),
        (FETCH, [ticket_id, MEDIA + "ME3", "image/jpeg"]),
    ]
    assert [a.url for a in store.get(ticket_id).attachments] == [
        MEDIA + "ME1", MEDIA + "ME2", MEDIA + "ME3"]


def test_a_provider_retry_writes_nothing_again(store: Store) -> None:
    now = datetime.now(UTC)
    first = receive(store, message("MM5", "路灯不亮", "ME5"), now)
    again = receive(store, message("MM5", "路灯不亮", "ME5"), now + timedelta(seconds=30))
    assert again.repeat and again.ticket.id == first.ticket.id
    follow = message("MM6", "补充", "ME6")
    receive(store, follow, now + timedelta(minutes=1))
    repeat = receive(store, follow, now + timedelta(minutes=1, seconds=30))
    assert (repeat.action, repeat.repeat) == (Action.follow_up, True)
    assert len(media_jobs(store)) == 2 and len(store.feed(0, 10)) == 1
