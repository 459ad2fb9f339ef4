"""Literal WeChat pushes, shaped like the examples of WeChat's message documentation."""

from __future__ import annotations

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
ACCOUNT = "gh_96010demo"


def xml(create_time: int, msg_type: str, body: str, msg_id: int | None = None) -> bytes:
    msg = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}{msg}</xml>"
    ).encode()


T = 1795700000

TEXT = xml(T, "text", "<Content><![CDATA[小区东门路灯坏了三天了]]></Content>", 24601)
IMAGE = xml(T, "image", "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>"
                        "<MediaId><![CDATA[media_id_img_1]]></MediaId>", 24602)
VOICE = xml(T, "voice", "<MediaId><![CDATA[media_id_voice_1]]></MediaId>"
                        "<Format><![CDATA[amr]]></Format>"
                        "<Recognition><![CDATA[楼上漏水了]]></Recognition>", 24603)
VOICE_NO_RECOGNITION = xml(T, "voice", "<MediaId><![CDATA[media_id_voice_2]]></MediaId>"
                                       "<Format><![CDATA[speex]]></Format>", 24604)
LOCATION = xml(T, "location", "<Location_X>39.915119</Location_X>"
                              "<Location_Y>116.403963</Location_Y><Scale>20</Scale>"
                              "<Label><![CDATA[北京市东城区东华门街道]]></Label>", 24605)
LINK = xml(T, "link", "<Title><![CDATA[噪音扰民]]></Title>"
                      "<Description><![CDATA[工地夜间施工]]></Description>"
                      "<Url><![CDATA[https://example.cn/a/1]]></Url>", 24606)
VIDEO = xml(T, "video", "<MediaId><![CDATA[media_id_video]]></MediaId>"
                        "<ThumbMediaId><![CDATA[thumb_1]]></ThumbMediaId>", 24607)
SHORTVIDEO = xml(T, "shortvideo", "<MediaId><![CDATA[media_id_sv]]></MediaId>"
                                  "<ThumbMediaId><![CDATA[thumb_2]]></ThumbMediaId>", 24608)
UNKNOWN = xml(T, "file", "<Title><![CDATA[a.pdf]]></Title>", 24609)
UNKNOWN_NO_ID = xml(T, "hologram", "")

SUBSCRIBE = xml(T, "event", "<Event><![CDATA[subscribe]]></Event>")
SUBSCRIBE_QR = xml(T, "event", "<Event><![CDATA[subscribe]]></Event>"
                               "<EventKey><![CDATA[qrscene_DC0101]]></EventKey>"
                               "<Ticket><![CDATA[TICKET]]></Ticket>")
UNSUBSCRIBE = xml(T, "event", "<Event><![CDATA[unsubscribe]]></Event>")
LOCATION_EVENT = xml(T, "event", "<Event><![CDATA[LOCATION]]></Event>"
                                 "<Latitude>39.928211</Latitude><Longitude>116.416352</Longitude>"
                                 "<Precision>30.000000</Precision>")
CLICK_COMPLAINT = xml(T, "event", "<Event><![CDATA[CLICK]]></Event>"
                                  "<EventKey><![CDATA[KIND_COMPLAINT]]></EventKey>")
CLICK_PROGRESS = xml(T, "event", "<Event><![CDATA[CLICK]]></Event>"
                                 "<EventKey><![CDATA[PROGRESS]]></EventKey>")
VIEW = xml(T, "event", "<Event><![CDATA[VIEW]]></Event>"
                       "<EventKey><![CDATA[https://example.cn/report]]></EventKey>")

XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
       b"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>"
       b"<MsgId>1</MsgId></xml>")
EXTERNAL_DTD = (b'<?xml version="1.0"?><!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd">'
                b"<xml><ToUserName>a</ToUserName></xml>")
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10))
    + b"]><xml><Content>&lol9;</Content></xml>"
)
