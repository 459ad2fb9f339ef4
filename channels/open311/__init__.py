"""Open311 GeoReport v2 at ``/open311/v2/``: an intake channel (POST requests) and a read API
(discovery, services, requests, tokens) plus FixMyStreet's ``servicerequestupdates`` extension.

The protocol (documents in XML and JSON, the status mapping, request parsing) is pure and lives
beside the thin FastAPI routes (:mod:`channels.open311.route`); the catalogue of services comes
from the composition room, which reads the router's reviewed catalogue."""
