"""The fallback spool: messages recorded while the gateway could not take them (Asterisk's own
fallback in the dialplan, or the gateway when its store failed), and the ingester that turns
them into tickets later."""
