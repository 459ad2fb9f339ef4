"""The TwiML answer and its Chinese text (what the resident reads on their phone)."""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from channels.threading import Action, Outcome

STATUS_HINT = "查询办理进度请拨打96010按9。"
EMPTY = "您好，这里是96010服务热线。请直接发送您要反映的问题，可附照片。"


def acknowledgement(outcome: Outcome) -> str:
    number = outcome.ticket.number
    if outcome.action is Action.evaluate:
        return f"感谢您对工单{number}的评价（{outcome.score}分），我们会继续改进。"
    if outcome.action is Action.follow_up:
        return f"已将您的补充内容并入工单{number}。{STATUS_HINT}"
    return f"您的诉求已受理，工单号{number}。{STATUS_HINT}"


def twiml(text: str) -> str:
    response = MessagingResponse()
    response.message(text)
    return str(response)
