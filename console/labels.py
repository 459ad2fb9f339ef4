"""What operators read for the ticket's codes (zh-CN): channels, kinds, statuses, how a routing
field was decided, and why an edit was refused."""

from __future__ import annotations

from tickets.model import Channel, Kind, Status

CHANNELS: dict[Channel, str] = {
    Channel.voice: "电话",
    Channel.sms: "短信",
    Channel.wechat: "微信",
    Channel.web: "网页",
    Channel.api: "接口",
}

KINDS: dict[Kind, str] = {
    Kind.consultation: "咨询",
    Kind.help: "求助",
    Kind.complaint: "投诉",
    Kind.report: "举报",
    Kind.suggestion: "建议",
    Kind.unknown: "未分类",
}

STATUSES: dict[Status, str] = {
    Status.received: "采集受理",
    Status.registered: "案卷建立",
    Status.dispatched: "指挥派遣",
    Status.in_progress: "任务处理",
    Status.resolved: "处理反馈",
    Status.closed: "核实结案",
    Status.evaluated: "综合评价",
    Status.merged: "已合并",
    Status.rejected: "不予受理",
}

# tickets/model.py Decided.source
SOURCES: dict[str, str] = {
    "grid_qr": "网格二维码",
    "point": "定位",
    "gazetteer": "地名识别",
    "operator": "坐席",
    "rule": "规则",
    "model": "模型",
    "catalogue": "目录默认",
    "phrase": "关键词",
    "department": "市级部门",
    "repeat": "重复诉求",
    "escalation": "超期升级",
    "media": "媒体关注",
    "leader": "领导批示",
    "cross_street": "跨街道",
}

NEEDS: dict[str, str] = {"place": "地点", "category": "类别"}
LOOPS: dict[str, str] = {"small": "小循环（街道）", "big": "大循环（区中心）"}
DELIVERY: dict[str, str] = {"pending": "待送达", "delivered": "已送达", "failed": "送达失败"}

FIELDS: dict[str, str] = {
    "text": "诉求内容",
    "kind": "诉求类型",
    "address": "地址",
    "place": "地点",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "category": "类别",
    "note": "备注",
    "phone": "来电号码",
    "name": "姓名",
    "seq": "页面数据（请刷新后重试）",
    "ref": "表单编号",
}

PROBLEMS: dict[str, str] = {
    "unknown": "不在配置中，请从列表中选择",
    "conflict": "与所选的其他地点不一致，请只改一处或一并改对",
    "invalid": "格式不正确，请输入手机号或带区号的固定电话",
    "empty": "不能为空",
}

STALE = "此工单在您打开后已被他人（或系统）修改，您的修改没有保存。请查看下方最新内容后重新编辑。"
LOCKED = "此工单状态为“{status}”，不能再修改。"
HISTORY_FULL = "此工单的处理记录已满，不能再修改。"
SAVED = "已保存。"
UNCHANGED = "没有任何修改。"
CREATED = "工单已创建。可在下方补充地点和类别。"
NOT_FOUND = "没有这个工单。"


def refused(field: str, problem: str) -> str:
    """``街道：不在配置中，请从列表中选择``."""
    return f"{FIELDS.get(field, field)}：{PROBLEMS.get(problem, '不正确')}"

# the desks (console/desk_routes.py)
DESK_STALE = ("此工单在您打开后已被处理：{actor} 于 {at} {what}。请查看最新状态后再操作。")
DESK_ILLEGAL = "此工单当前状态为「{status}」，不能进行此操作。"
HISTORY_KINDS: dict[str, str] = {
    "sent_back": "退回",
    "extension_requested": "申请延期",
    "extension_granted": "同意延期",
    "extension_refused": "不同意延期",
    "urged": "督办",
    "notified": "已通知市民",
    "notification_failed": "通知失败",
    "asked": "回访提问",
    "answered": "市民答复",
    "reopened": "重新办理",
    "closed_unanswered": "未答复结案",
    "callback": "电话回访",
}
