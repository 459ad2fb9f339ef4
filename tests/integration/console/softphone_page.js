// The softphone test page's view (tests/integration/console/softphone_scenario.py): shows the
// softphone's state from its `softphone:*` DOM events and keeps what the page saw, including
// any Content-Security-Policy violation. Loaded before softphone.js.
(function () {
  'use strict';
  var seen = [];
  var violations = [];
  window.softphonePage = { events: seen, violations: violations };

  document.addEventListener('securitypolicyviolation', function (e) {
    violations.push(e.violatedDirective + ' ' + e.blockedURI);
  });

  document.addEventListener('softphone:state', function (e) {
    var s = e.detail.state;
    seen.push(e.detail.cause);
    var rows = [
      ['WebSocket', s.connection], ['registration', s.registration], ['call', s.call],
      ['caller', s.remote || '-'], ['media', s.media], ['muted', String(s.muted)],
      ['on hold', String(s.held)],
    ];
    var table = document.getElementById('state');
    table.textContent = '';
    rows.forEach(function (row) {
      var tr = document.createElement('tr');
      row.forEach(function (text) {
        var td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    var log = document.getElementById('log');
    var li = document.createElement('li');
    li.textContent = new Date(e.detail.at).toISOString().slice(11, 23) + ' ' + e.detail.cause;
    log.insertBefore(li, log.firstChild);
  });
}());
