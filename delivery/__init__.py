"""The delivery room: the outbound side to other systems — planning deliveries with the routing
change, draining them per destination in order, retries and the overdue sweep, and one module
per transport (signed webhook, Redis stream). It imports only :mod:`tickets`."""
