/*
 * The residents' web phone (/phone): calls 96010 through Asterisk's SIP WebSocket with the
 * console's Softphone (softphone.js over JsSIP), without registration; the keypad sends
 * RFC 4733 tones. Settings are JSON data in the page (#phone-config); no inline script.
 */
(function () {
  'use strict';

  var CAUSES = {
    'Connection Error': '无法连接 Asterisk 的 SIP WebSocket',
    'Request Timeout': 'Asterisk 没有应答（超时）',
    'Busy': '线路忙', 'Rejected': '呼叫被拒绝', 'Not Found': '号码不存在',
    'Unavailable': '暂时无法接通', 'User Denied Media Access': '浏览器不允许使用麦克风',
    'Incompatible SDP': '语音协商失败', 'RTP Timeout': '语音中断',
  };

  function $(id) { return document.getElementById(id); }

  function show(text) {
    $('phone-error').textContent = text || '';
    $('phone-error').hidden = !text;
  }

  function boot() {
    var config = JSON.parse($('phone-config').textContent || '{}');
    if (!config.server) {
      $('phone-off').hidden = false;
      return;
    }
    var phone = new window.Softphone(config, document);
    window.hotlinePhone = phone;
    var keys = $('phone-keypad').querySelectorAll('button');
    document.addEventListener('softphone:state', function (ev) {
      var s = ev.detail.state;
      var text = s.call === 'outgoing' ? '呼叫中…' : s.call === 'active'
        ? (s.media === 'connected' ? '通话中' : '接通中…') : (s.connection === 'connected' ? '可以拨打' : '未连接');
      $('phone-state').textContent = text;
      $('phone-dial').disabled = s.connection !== 'connected' || s.call !== 'idle';
      $('phone-hangup').disabled = s.call === 'idle';
      keys.forEach(function (b) { b.disabled = s.call !== 'active'; });
    });
    document.addEventListener('softphone:failed', function (ev) {
      show('呼叫失败：' + (CAUSES[ev.detail.cause] || ev.detail.cause));
    });
    document.addEventListener('softphone:media', function (ev) {
      if (ev.detail.media === 'failed') { show('语音通道建立失败：浏览器与 Asterisk 之间的 UDP 媒体不通（见下方使用限制）'); }
    });
    document.addEventListener('softphone:ended', function () { $('phone-keys').textContent = ''; });
    $('phone-dial').addEventListener('click', function () { show(''); phone.dial(config.target || '96010'); });
    $('phone-hangup').addEventListener('click', function () { phone.hangup(); });
    keys.forEach(function (b) {
      b.addEventListener('click', function () {
        if (phone.dtmf(b.dataset.key)) { $('phone-keys').textContent += b.dataset.key; }
      });
    });
    phone.start();
    window.addEventListener('pagehide', function () { phone.stop(); });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
  } else {
    boot();
  }
}());
