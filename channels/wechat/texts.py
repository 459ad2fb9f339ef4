"""What the resident reads in WeChat (zh-CN), and the menu keys the account's menu uses."""

from __future__ import annotations

from channels.threading import Action, Outcome
from router.model import Kind, Status, Ticket

MENU_KINDS = {
    "KIND_CONSULTATION": Kind.consultation,
    "KIND_HELP": Kind.help,
    "KIND_COMPLAINT": Kind.complaint,
    "KIND_REPORT": Kind.report,
    "KIND_SUGGESTION": Kind.suggestion,
}
MENU_PROGRESS = "PROGRESS"

KIND_NAMES = {
    Kind.consultation: "咨询",
    Kind.help: "求助",
    Kind.complaint: "投诉",
    Kind.report: "举报",
    Kind.suggestion: "建议",
    Kind.unknown: "诉求",
}

STATUS_NAMES = {
    Status.received: "已受理，等待立案",
    Status.registered: "已立案，等待派遣",
    Status.dispatched: "已派遣至承办单位",
    Status.in_progress: "正在办理",
    Status.resolved: "已办理，等待核实",
    Status.closed: "已办结",
    Status.evaluated: "已办结并评价",
    Status.merged: "已与其他工单合并办理",
    Status.rejected: "不予受理",
}

WELCOME = (
    "欢迎关注96010服务热线！\n"
    "直接发送文字、语音、图片或位置，即可反映问题，我们会回复工单号。\n"
    "也可以通过底部菜单选择咨询、求助、投诉、举报或建议；点击“办理进度”查询最近一件工单。"
)
NO_TICKET = "您目前没有工单。直接发送文字、语音、图片或位置即可反映问题。"
MENU_UNKNOWN = "请直接发送文字、语音、图片或位置反映问题，或拨打96010。"
PROGRESS_HINT = "点击菜单“办理进度”可查询进度。"


def acknowledgement(outcome: Outcome) -> str:
    number = outcome.ticket.number
    if outcome.action is Action.evaluate:
        return f"感谢您对工单{number}的评价（{outcome.score}分），我们会继续改进。"
    if outcome.action is Action.follow_up:
        return f"已将您的补充内容并入工单{number}。{PROGRESS_HINT}"
    kind = KIND_NAMES[outcome.ticket.kind]
    return f"您的{kind}已受理，工单号{number}。{PROGRESS_HINT}也可拨打96010按9查询。"


def kind_prompt(kind: Kind) -> str:
    return f"请直接发送您要{KIND_NAMES[kind]}的内容（文字、语音、图片或位置均可）。"


def progress(ticket: Ticket | None) -> str:
    if ticket is None:
        return NO_TICKET
    text = f"您最近的工单{ticket.number}：{STATUS_NAMES[ticket.status]}。"
    if ticket.status is Status.closed and ticket.evaluation is None:
        text += "请回复数字1至5为办理结果评分（5分最满意）。"
    if ticket.status is Status.rejected and ticket.reject_reason:
        text += f"原因：{ticket.reject_reason}"
    return text
