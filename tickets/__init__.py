"""The ticket room: the ticket core every other room stands on — model and JSON Schema, store,
numbering, status machine, events, outbox and relay, RQ queues/jobs/worker, the back-office
API and its dependencies, API keys, rate limits, masking, files and media.

It imports no other room. Channels and the IVR hand an :class:`tickets.model.Intake` to
:meth:`tickets.store.Store.submit`; which jobs a new ticket gets is decided by the composition
room (``hotline.wiring``), not here.
"""
