// Gallows: live updates over a websocket. Progressive enhancement only:
// without this script every form still posts and every page still works.
// This file keeps the sockets (window.gallowsLive) and runs the cluster
// panel and the leaderboard; room.js, loaded after it, runs a room.
(function () {
  'use strict';

  var cluster = document.getElementById('cluster');
  var board = document.getElementById('leaderboard');
  if (!('WebSocket' in window)) return;

  var connEl = document.getElementById('conn');

  function setText(el, text) {
    if (el) el.textContent = text || '';
  }

  // live keeps a websocket to path() open, reconnecting with exponential
  // backoff (250ms to 5s, with jitter). path is called on every attempt so
  // that a reconnect can resume from the current version. A close with a
  // code of 4000 or more is final: onFinal(code, reason) is called and
  // nothing reconnects (4404: the room no longer exists).
  function live(path, onMessage, onOpen, onFinal) {
    var sock = null, attempt = 0, timer = 0, leaving = false;
    var api = { opened: false, send: send };

    function connect() {
      timer = 0;
      if (leaving || sock) return;
      var s = sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path());
      s.onopen = function () {
        attempt = 0;
        api.opened = true;
        setText(connEl, '');
        if (onOpen) onOpen();
      };
      s.onmessage = function (e) {
        var msg;
        try { msg = JSON.parse(e.data); } catch (err) { return; }
        if (msg && typeof msg === 'object') onMessage(msg);
      };
      s.onclose = function (e) {
        if (sock !== s) return;
        sock = null;
        if (leaving) return;
        if (e.code >= 4000) {
          leaving = true;
          setText(connEl, '');
          if (onFinal) onFinal(e.code, e.reason);
          return;
        }
        if (api.opened) setText(connEl, 'Reconnecting…');
        var max = Math.min(5000, 250 * Math.pow(2, attempt++));
        timer = setTimeout(connect, max / 2 + Math.random() * max / 2);
      };
    }

    function send(msg) {
      if (!sock || sock.readyState !== WebSocket.OPEN) return false;
      sock.send(JSON.stringify(msg));
      return true;
    }

    // Close on leaving so the page can enter the back/forward cache, and
    // reconnect at once when it comes back or the network returns.
    window.addEventListener('pagehide', function () {
      leaving = true;
      clearTimeout(timer);
      timer = 0;
      if (sock) { var s = sock; sock = null; s.close(); }
    });
    window.addEventListener('pageshow', function (e) {
      if (e.persisted) { leaving = false; connect(); }
    });
    window.addEventListener('online', function () {
      if (timer) { clearTimeout(timer); connect(); }
    });

    connect();
    return api;
  }

  [[cluster, '/ws/cluster', 'cluster'], [board, '/ws/leaderboard', 'leaderboard']].forEach(function (p) {
    if (p[0]) live(function () { return p[1]; }, function (msg) { // a fragment shared by every tab
      if (msg.type !== p[2] || typeof msg.html !== 'string') return;
      p[0].innerHTML = msg.html;
      var me = p[0].getAttribute('data-player'); // the leaderboard marks its player's row
      var row = me && p[0].querySelector('tr[data-name="' + CSS.escape(me) + '"]');
      if (row) { row.classList.add('is-you'); row.querySelectorAll('[data-you]').forEach(function (t) { t.hidden = false; }); }
    });
  });

  window.gallowsLive = live;
})();
