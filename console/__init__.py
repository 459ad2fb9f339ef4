"""The operators' console (live calls, live transcript, take over, edit tickets).

Built in a later issue; it will read the ticket store through ``router`` and subscribe to the
IVR's call events and the live partial transcripts (Redis ``hotline:transcript:<uuid>``).
"""
