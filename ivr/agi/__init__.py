"""FastAGI for the 96010 call flow: pure protocol parsing, an asyncio session, the server.

pyst2 (``asterisk.agi``) is the AGI command layer: :mod:`ivr.agi.commands` builds every command
line with pyst2's ``AGI`` methods. What pyst2 cannot do inside an asyncio server is replaced:
its ``fastagi.py`` (Python 2, a blocking thread per call) by :mod:`ivr.agi.server`; its blocking
``execute``/``get_result`` and the SIGHUP handler its constructor installs by
:mod:`ivr.agi.session`; its reply parsing (a blocking readline loop whose regex drops an empty
``result=`` and which treats ``result=-1`` as an exception) by the pure :mod:`ivr.agi.protocol`;
its quoting (no escaping; ASCII on Python 2) and its stderr echo of every line by
:func:`ivr.agi.commands.quote` and nothing.
"""

from ivr.agi.protocol import HANGUP, ProtocolError, Reply, ReplyParser, parse_reply
from ivr.agi.server import AgiServer
from ivr.agi.session import AgiEnv, AgiSession, ChannelHungUp, CommandFailed, ConnectionLost

__all__ = [
    "HANGUP",
    "AgiEnv",
    "AgiServer",
    "AgiSession",
    "ChannelHungUp",
    "CommandFailed",
    "ConnectionLost",
    "ProtocolError",
    "Reply",
    "ReplyParser",
    "parse_reply",
]
