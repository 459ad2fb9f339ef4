/*
 * The live board (看板) and the supervisors' page (班长): one EventSource on /console/events.
 *
 * The stream starts with a `snapshot` (or, after a reconnection, the events missed since the
 * browser's Last-Event-ID), then deltas: call, call_gone, transcript, queue, link, and
 * `screenpop` for this operator only. Everything resident-supplied (caller, transcript) is
 * written with textContent; nothing here builds HTML from strings.
 *
 * Actions are POSTs with the session's CSRF token (meta csrf-token) in X-CSRF-Token:
 * takeover of a call in the IVR, the operator's own queue state, a supervisor's actions on a
 * member. The softphone (softphone.js) is created from /console/softphone.json, so the SIP
 * secret is never part of the page's HTML.
 */
(function () {
  'use strict';

  var STEPS = { greeting: '欢迎语/菜单', record: '留言中', status: '查询进度', operator: '转人工', ended: '已结束' };
  var KINDS = { consultation: '咨询', help: '求助', complaint: '投诉', report: '举报', suggestion: '建议', unknown: '' };
  var STATES = { available: '空闲', ringing: '振铃', talking: '通话中', paused: '暂停', unavailable: '离线' };

  var config = JSON.parse(document.getElementById('board-config').textContent || '{}');
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var calls = {};      // id -> call view
  var queue = { waiting: [], members: [] };
  var skew = 0;        // server clock - local clock (ms)
  var popCall = null;  // the call id whose transcript the screen-pop shows

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function serverNow() { return Date.now() + skew; }

  function duration(sinceSeconds) {
    var s = Math.max(0, Math.floor(serverNow() / 1000 - sinceSeconds));
    var m = Math.floor(s / 60);
    var r = s % 60;
    return (m < 10 ? '0' : '') + m + ':' + (r < 10 ? '0' : '') + r;
  }

  // ------------------------------------------------------------------ IVR calls

  function renderCalls() {
    var body = $('ivr-calls');
    if (!body) { return; }
    var ids = Object.keys(calls).sort(function (a, b) { return calls[a].started_at - calls[b].started_at; });
    var rows = ids.map(function (id) { return callRow(calls[id]); });
    body.replaceChildren.apply(body, rows);
    $('ivr-count').textContent = String(ids.length);
    $('ivr-empty').hidden = ids.length > 0;
  }

  // The growing partial text; for a call beyond the live recognition capacity (no live
  // text), a clear note that the transcript comes after the call (the batch job).
  function partialOf(view) {
    if (view.partial) { return view.partial; }
    return view.pending && !view.text ? '转写待处理（通话结束后自动转写）' : '';
  }

  function callRow(call) {
    var tr = el('tr');
    tr.dataset.call = call.id;
    tr.appendChild(el('td', call.caller || '匿名'));
    var step = STEPS[call.step] || call.step;
    if (call.kind && KINDS[call.kind]) { step += '（' + KINDS[call.kind] + '）'; }
    tr.appendChild(el('td', step));
    var time = el('td', duration(call.started_at), 'elapsed');
    time.dataset.since = String(call.started_at);
    tr.appendChild(time);
    var text = el('td', null, 'transcript');
    text.appendChild(el('span', call.text || '', 'text'));
    text.appendChild(el('span', partialOf(call), 'partial'));
    // the model is not a Chinese one (e.g. the Korean test model): say so beside the text
    if (config.model_note) { text.appendChild(el('span', config.model_note, 'badge model-lang')); }
    tr.appendChild(text);
    var action = el('td');
    if (call.step !== 'operator') {
      var button = el('button', '接管', 'takeover');
      button.type = 'button';
      button.dataset.call = call.id;
      action.appendChild(button);
    } else {
      action.appendChild(el('span', '转人工中', 'muted'));
    }
    tr.appendChild(action);
    return tr;
  }

  function updateTranscript(id, view) {
    var call = calls[id];
    if (call) {
      call.text = view.text; call.partial = view.partial; call.final = view.final;
      call.pending = view.pending;
      var row = document.querySelector('tr[data-call="' + CSS.escape(id) + '"]');
      if (row) {
        row.querySelector('.transcript .text').textContent = view.text || '';
        row.querySelector('.transcript .partial').textContent = partialOf(view);
      }
    }
    if (popCall === id) { showPopTranscript(view); }
  }

  // ------------------------------------------------------------------ the queue

  function renderQueue() {
    var body = $('queue-waiting');
    var rows = queue.waiting.map(function (w) {
      var tr = el('tr');
      tr.appendChild(el('td', w.position));
      tr.appendChild(el('td', w.caller || '匿名'));
      var time = el('td', duration(w.since), 'elapsed');
      time.dataset.since = String(w.since);
      tr.appendChild(time);
      tr.appendChild(el('td', w.ticket ? '有' : '—'));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
    $('queue-count').textContent = String(queue.waiting.length);
    $('queue-empty').hidden = queue.waiting.length > 0;
    renderMembers();
  }

  function memberState(m) {
    var label = STATES[m.state] || m.state;
    if (m.state === 'paused' && m.paused_reason) {
      label += '（' + ((config.reasons || {})[m.paused_reason] || m.paused_reason) + '）';
    }
    return label;
  }

  function renderMembers() {
    var list = $('operators');
    if (list) {
      var items = queue.members.map(function (m) {
        var li = el('li', null, 'operator state-' + m.state);
        li.appendChild(el('span', m.name, 'name'));
        li.appendChild(el('span', memberState(m), 'state'));
        return li;
      });
      list.replaceChildren.apply(list, items);
      $('operators-empty').hidden = queue.members.length > 0;
    }
    var mine = queue.members.filter(function (m) { return m.interface === config.interface; })[0];
    if ($('my-state')) {
      $('my-state').textContent = mine ? memberState(mine) : '未签入';
      $('queue-login').disabled = !!mine;
      $('queue-logout').disabled = !mine;
      $('queue-pause').disabled = !mine || mine.state === 'paused';
      $('queue-unpause').disabled = !mine || mine.state !== 'paused';
    }
    document.querySelectorAll('#people tr[data-login]').forEach(function (row) {
      var m = queue.members.filter(function (x) { return x.login === row.dataset.login; })[0];
      row.querySelector('.member-state').textContent = m ? memberState(m) : '未签入';
      row.querySelector('.member-calls').textContent = m ? String(m.calls_taken) : '0';
      row.querySelectorAll('button').forEach(function (b) { b.disabled = !m; });
    });
  }

  // ------------------------------------------------------------------ links and screen-pop

  function showLinks(link) {
    $('alert-ami').hidden = !!link.ami;
    $('alert-live').hidden = !!link.live;
    document.body.classList.toggle('ami-down', !link.ami);
  }

  function showPopTranscript(view) {
    $('screenpop-text').textContent = view.text || '';
    $('screenpop-partial').textContent = partialOf(view);
    var model = $('screenpop-model');
    if (model && config.model_note) { model.textContent = config.model_note; model.hidden = false; }
  }

  function screenpop(pop) {
    var box = $('screenpop');
    if (!box) { return; }
    var link = $('screenpop-link');
    link.href = pop.url;
    link.textContent = pop.ticket ? pop.ticket.number : '新建工单';
    popCall = pop.call || null;
    var call = popCall ? calls[popCall] : null;
    $('screenpop-kind').textContent = call && call.kind ? (KINDS[call.kind] || '') : '';
    showPopTranscript(call || { text: '', partial: '' });
    box.hidden = false;
    box.dataset.ticket = pop.ticket ? pop.ticket.number : '';
    // the ticket opens beside the board (the board keeps the softphone and its call)
    window.open(pop.url, pop.ticket ? 'ticket-' + pop.ticket.number : 'ticket-new', 'noopener');
    document.dispatchEvent(new CustomEvent('board:screenpop', { detail: pop }));
  }

  // ------------------------------------------------------------------ the stream

  function apply(name, data) {
    if (name === 'snapshot') {
      skew = data.now * 1000 - Date.now();
      calls = {};
      data.calls.forEach(function (c) { calls[c.id] = c; });
      queue = data.queue;
      showLinks(data.link);
      renderCalls();
      renderQueue();
    } else if (name === 'call') {
      calls[data.call.id] = data.call;
      renderCalls();
    } else if (name === 'call_gone') {
      delete calls[data.id];
      renderCalls();
    } else if (name === 'transcript') {
      updateTranscript(data.id, data);
    } else if (name === 'queue') {
      queue = data.queue;
      renderQueue();
    } else if (name === 'link') {
      showLinks(data);
    } else if (name === 'screenpop') {
      screenpop(data);
    }
    document.dispatchEvent(new CustomEvent('board:' + name, { detail: data }));
  }

  function connect() {
    var source = new EventSource('/console/events');
    ['snapshot', 'call', 'call_gone', 'transcript', 'queue', 'link', 'screenpop'].forEach(function (name) {
      source.addEventListener(name, function (ev) {
        $('alert-stream').hidden = true;
        apply(name, JSON.parse(ev.data));
      });
    });
    source.addEventListener('open', function () { $('alert-stream').hidden = true; });
    source.addEventListener('error', function () {
      $('alert-stream').hidden = false;
      if (source.readyState === EventSource.CLOSED) {
        // refused (logged out, console stopped): ask the server where to go
        window.setTimeout(function () {
          fetch('/console/board.json', { credentials: 'same-origin' }).then(function (r) {
            if (r.status === 401) { window.location.assign('/console/login?next=/console/'); } else { connect(); }
          }, function () { window.setTimeout(connect, 5000); });
        }, 2000);
      }
    });
    window.hotlineBoard.source = source;
  }

  // ------------------------------------------------------------------ actions

  // the gateway's JSON error shape: {"error": {"code": ..., "message": ...}}
  function problemOf(data) {
    var error = data && data.error;
    if (error && typeof error.message === 'string') { return error.message; }
    return data && typeof data.message === 'string' ? data.message : '';
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Accept': 'application/json' },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(problemOf(data) || ('HTTP ' + r.status)); }
        return data;
      });
    });
  }

  function say(text, bad) {
    var node = $('queue-message');
    if (node) { node.textContent = text; node.classList.toggle('bad', !!bad); }
  }

  function takeover(id, button) {
    button.disabled = true;
    post('/console/calls/' + encodeURIComponent(id) + '/takeover').then(function (data) {
      say('已接管，工单 ' + data.ticket.number + '，来电正在转入人工队列');
      document.dispatchEvent(new CustomEvent('board:takenover', { detail: data }));
    }, function (error) {
      button.disabled = false;
      say('接管失败：' + error.message, true);
    });
  }

  function queueAction(what) {
    var body = what === 'pause' ? { reason: $('pause-reason').value } : {};
    post('/console/queue/' + what, body).then(function () {
      say({ login: '已签入队列', logout: '已签出队列', pause: '已暂停接听', unpause: '已恢复接听' }[what]);
    }, function (error) { say('操作失败：' + error.message, true); });
  }

  function memberAction(login, what) {
    post('/console/supervision/members/' + encodeURIComponent(login) + '/' + what, what === 'pause' ? { reason: 'other' } : {})
      .then(function () { say('已完成：' + login); }, function (error) { say('操作失败：' + error.message, true); });
  }

  // ------------------------------------------------------------------ the softphone

  // JsSIP's causes (JsSIP.C.causes) in the operator's words
  var PHONE_CAUSES = {
    'Connection Error': '无法连接 Asterisk 的 SIP WebSocket（地址错误、Asterisk 未运行或网络不通）',
    'Request Timeout': 'Asterisk 没有应答（超时）',
    'Authentication Error': 'SIP 认证失败：账号或密码与 Asterisk 中的不一致（请管理员运行 hotline operator sync）',
    'Not Found': 'Asterisk 中没有这个端点或号码（请管理员运行 hotline operator sync）',
    'Rejected': '被 Asterisk 拒绝',
    'Forbidden': '被 Asterisk 拒绝（无权限）',
    'Busy': '对方忙',
    'Unavailable': '暂时无法接通',
    'No Answer': '无人接听',
    'Canceled': '呼叫已取消（对方在接通前挂断）',
    'Expires': '呼叫超时',
    'No ACK': '对方没有确认接听（信令中断）',
    'User Denied Media Access': '浏览器不允许使用麦克风（请在地址栏允许麦克风后刷新）',
    'Incompatible SDP': '语音协商失败（编码或加密不兼容）',
    'Bad Media Description': '语音协商失败（媒体描述错误）',
    'Missing SDP': '语音协商失败（缺少媒体描述）',
    'RTP Timeout': '语音中断（收不到对方的声音数据）',
    'Dialog Error': '通话状态错误',
    'Address Incomplete': '号码不完整',
    'Redirected': '呼叫被转移',
    'SIP Failure Code': 'Asterisk 返回了错误',
    'Internal Error': '软电话内部错误',
  };

  function phoneCause(cause) {
    return PHONE_CAUSES[cause] || ('原因：' + String(cause || '未知'));
  }

  function phoneError(text) {
    var box = $('phone-error');
    if (!box) { return; }
    box.textContent = text || '';
    box.hidden = !text;
  }

  function startPhone() {
    var box = $('softphone');
    if (!box || typeof window.Softphone === 'undefined') { return; }
    fetch('/console/softphone.json', { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) {
        if (r.ok) { return r.json(); }
        return r.json().then(function (body) {
          throw new Error(body && body.error && body.error.message ? body.error.message : '软电话设置读取失败（HTTP ' + r.status + '）');
        }, function () { throw new Error('软电话设置读取失败（HTTP ' + r.status + '）'); });
      })
      .then(function (settings) {
        box.hidden = false;
        var phone;
        try {
          phone = new window.Softphone(settings, document);
          window.hotlineSoftphone = phone;
          bindPhone(phone);
          phone.start();
        } catch (error) {
          $('phone-state').textContent = '无法启动';
          phoneError('软电话无法启动：' + error.message + '（请管理员检查 HOTLINE_CONSOLE_SIP_WS 和 HOTLINE_CONSOLE_SIP_DOMAIN）');
          return;
        }
        window.addEventListener('pagehide', function () { phone.stop(); });
      }, function (error) {
        var off = $('softphone-off');
        if (off) { off.textContent = error.message; off.hidden = false; }
      });
  }

  function bindPhone(phone) {
    var labels = { connecting: '连接中', connected: '已连接', disconnected: '未连接', registered: '已注册', unregistered: '未注册', failed: '注册失败' };
    var wasConnected = false;
    document.addEventListener('softphone:state', function (ev) {
      var s = ev.detail.state;
      $('phone-state').textContent = s.call === 'incoming' ? '来电振铃' : s.call === 'outgoing' ? '呼叫中' : s.call === 'active' ? (s.held ? '保持中' : '通话中') : (s.connection !== 'connected' ? labels[s.connection] : (labels[s.registration] || ''));
      $('phone-answer').disabled = s.call !== 'incoming';
      $('phone-hangup').disabled = s.call === 'idle';
      $('phone-mute').disabled = s.call !== 'active';
      $('phone-hold').disabled = s.call !== 'active';
      $('phone-rating').disabled = s.call !== 'active';
      $('phone-mute').textContent = s.muted ? '取消静音' : '静音';
      $('phone-hold').textContent = s.held ? '取消保持' : '保持';
      $('phone-caller').textContent = s.remote ? String(s.remote) : '';
    });
    document.addEventListener('softphone:registered', function () { phoneError(''); });
    document.addEventListener('softphone:connected', function () { wasConnected = true; });
    document.addEventListener('softphone:disconnected', function () {
      phoneError(wasConnected ? '与 Asterisk 的 SIP 连接中断，正在重连…'
        : '无法连接 Asterisk 的 SIP WebSocket（' + phone.config.server + '）：Asterisk 未运行、地址错误或被防火墙拦截（管理员设置 HOTLINE_CONSOLE_SIP_WS），正在重试…');
    });
    document.addEventListener('softphone:registrationfailed', function (ev) {
      phoneError('软电话注册失败：' + phoneCause(ev.detail.cause));
    });
    document.addEventListener('softphone:failed', function (ev) {
      phoneError('通话失败：' + phoneCause(ev.detail.cause));
    });
    document.addEventListener('softphone:incoming', function () { phoneError(''); });
    document.addEventListener('softphone:media', function (ev) {
      if (ev.detail.media === 'failed') { phoneError('语音通道建立失败（ICE/DTLS）：浏览器与 Asterisk 之间的 UDP 媒体不通'); }
      if (ev.detail.media === 'connected') { phoneError(''); }
    });
    document.addEventListener('softphone:microphone', function (ev) {
      if (!ev.detail.ok) { phoneError('麦克风不可用：' + ev.detail.error); }
    });
    $('phone-answer').addEventListener('click', function () { phone.answer(); });
    $('phone-hangup').addEventListener('click', function () { phone.hangup(); });
    $('phone-mute').addEventListener('click', function () { if (phone.muted) { phone.unmute(); } else { phone.mute(); } });
    $('phone-hold').addEventListener('click', function () { (phone.held ? phone.unhold() : phone.hold()).catch(function () {}); });
    // back to the IVR for the rating: a blind transfer to 96010 (docs/softphone.md)
    $('phone-rating').addEventListener('click', function () { phone.transfer('96010').catch(function () {}); });
  }

  // ------------------------------------------------------------------ start

  function boot() {
    window.hotlineBoard = { apply: apply, calls: function () { return calls; }, queue: function () { return queue; } };
    var select = $('pause-reason');
    if (select) {
      Object.keys(config.reasons || {}).forEach(function (key) {
        var option = el('option', config.reasons[key]);
        option.value = key;
        select.appendChild(option);
      });
      $('queue-login').addEventListener('click', function () { queueAction('login'); });
      $('queue-logout').addEventListener('click', function () { queueAction('logout'); });
      $('queue-pause').addEventListener('click', function () { queueAction('pause'); });
      $('queue-unpause').addEventListener('click', function () { queueAction('unpause'); });
    }
    var ivr = $('ivr-calls');
    if (ivr) {
      ivr.addEventListener('click', function (ev) {
        var button = ev.target.closest('button.takeover');
        if (button) { takeover(button.dataset.call, button); }
      });
    }
    var people = $('people');
    if (people) {
      people.addEventListener('click', function (ev) {
        var button = ev.target.closest('button[data-action]');
        if (button) { memberAction(button.closest('tr').dataset.login, button.dataset.action); }
      });
    }
    if ($('screenpop-close')) {
      $('screenpop-close').addEventListener('click', function () { $('screenpop').hidden = true; popCall = null; });
    }
    window.setInterval(function () {
      document.querySelectorAll('td.elapsed').forEach(function (td) { td.textContent = duration(Number(td.dataset.since)); });
    }, 1000);
    connect();
    startPhone();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', boot);
  } else {
    boot();
  }
}());
