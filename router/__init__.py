"""The ticket room: schema, store, numbering, outbox, RQ jobs and the back-office API.

Other rooms use :class:`router.model.Intake` and :func:`router.submit.submit`.
"""
