"""The passive text reply, rendered by wechatpy's reply classes (never f-string XML)."""

from __future__ import annotations

from wechatpy.replies import TextReply

SUCCESS = "success"  # what WeChat expects when there is nothing to say (no retry follows)


def _cdata(value: str) -> str:
    """wechatpy wraps strings in CDATA without escaping; split any ``]]>`` so it cannot end
    the section early."""
    return value.replace("]]>", "]]]]><![CDATA[>")


def text_reply(account: str, openid: str, content: str, now: int) -> str:
    """``<xml>…<MsgType>text</MsgType><Content>…</Content>…</xml>`` to ``openid``."""
    reply = TextReply(source=_cdata(account), target=_cdata(openid), content=_cdata(content),
                      time=now)
    return str(reply.render())
