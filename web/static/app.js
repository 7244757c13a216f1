// Gallows: live updates over a websocket. Progressive enhancement only:
// without this script every form still posts and every page still works.
(function () {
  'use strict';

  var room = document.getElementById('room');
  var cluster = document.getElementById('cluster');
  var board = document.getElementById('leaderboard');
  if (!('WebSocket' in window) || (!room && !cluster && !board)) return;

  var connEl = document.getElementById('conn');
  var statusEl = document.getElementById('status');
  var announceEl = document.getElementById('announce');

  function setText(el, text) {
    if (el) el.textContent = text || '';
  }

  // live keeps a websocket to path() open, reconnecting with exponential
  // backoff (250ms to 5s, with jitter). path is called on every attempt so
  // that a reconnect can resume from the current version.
  function live(path, onMessage, onOpen) {
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
      s.onclose = function () {
        if (sock !== s) return;
        sock = null;
        if (leaving) return;
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

  if (!room) return;

  var messages = {
    invalid_letter: 'Only the letters a to z can be guessed.',
    already_guessed: 'That letter has already been guessed.',
    round_over: 'This round is over.',
    not_found: 'This room no longer exists.',
    no_quorum: 'The cluster has no majority right now. Try again in a moment.',
    bad_request: 'The server did not understand that request.',
    unauthorized: 'Pick a nickname to play.',
    name_taken: 'Someone else plays in this room under your nickname: pick another.',
    forbidden: 'Only the host can start the next round.'
  };

  var tab = randomHex(8), seq = 0, statusTimer = 0, resendTimer = 0;
  var pending = []; // sent or queued, not yet acknowledged; oldest first
  var resent = {}; // request ids sent more than once
  var roomId = room.getAttribute('data-room') || '';
  var conn = live(function () {
    // since one below the version shown: the frontend answers at once with
    // its current state, which also says which backend streams it.
    return '/ws/rooms/' + encodeURIComponent(roomId) + '?since=' + Math.max(0, version() - 1);
  }, onMessage, resend);

  // resend sends everything unacknowledged again with its original
  // request_id: the server applies each request at most once, and a guess
  // carries the round it was made in, so it is never applied to a later one.
  function resend() {
    resendTimer = 0;
    pending.forEach(function (m) {
      resent[m.request_id] = true;
      conn.send(m);
    });
  }

  function randomHex(n) {
    var a = new Uint8Array(n);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function nextId() {
    seq += 1;
    return tab + '-' + seq;
  }

  function version() {
    return Number(room.getAttribute('data-version')) || 0;
  }

  function round() {
    var el = room.querySelector('[data-round]');
    return (el && Number(el.getAttribute('data-round'))) || 0;
  }

  function showStatus(text) {
    setText(statusEl, text);
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { setText(statusEl, ''); }, 8000);
  }

  function keyButton(letter) {
    return room.querySelector('button[name="letter"][value="' + letter + '"]');
  }

  function paintPending() {
    pending.forEach(function (m) {
      var b = m.type === 'guess' && keyButton(m.letter);
      if (b) { b.classList.add('key--pending'); b.setAttribute('aria-busy', 'true'); }
    });
  }

  function request(msg) {
    msg.request_id = nextId();
    pending.push(msg);
    conn.send(msg); // if the socket is down, onOpen sends it after reconnecting
    paintPending();
  }

  function settle(id) {
    pending = pending.filter(function (m) { return m.request_id !== id; });
    delete resent[id];
    room.querySelectorAll('.key--pending').forEach(function (b) {
      b.classList.remove('key--pending');
      b.removeAttribute('aria-busy');
    });
    paintPending();
  }

  function guess(letter) {
    var b = keyButton(letter);
    if (!b || b.disabled) return;
    if (pending.some(function (m) { return m.type === 'guess' && m.letter === letter; })) return;
    setText(statusEl, '');
    request({ type: 'guess', letter: letter, round: round() });
  }

  function onMessage(msg) {
    if (msg.type === 'state') {
      // Never go back: a state older than the one shown is ignored (the
      // same version again is the same state, from the current stream).
      if (typeof msg.html !== 'string' || !(Number(msg.version) >= version())) return;
      // Only a newer state is news: the same one again is not announced.
      render(msg.html, Number(msg.version), Number(msg.version) > version(), msg.announce);
    } else if (msg.type === 'ack') {
      settle(msg.request_id);
    } else if (msg.type === 'error') {
      var again = resent[msg.request_id];
      if (!msg.request_id) {
        // Refused before it was read (rate_limited): send what is
        // pending again in a moment.
        if (!resendTimer) resendTimer = setTimeout(resend, 1000);
      } else {
        settle(msg.request_id);
        // A guess sent again whose first sending was applied: the letter
        // is in, as the player wanted.
        if (again && msg.code === 'already_guessed') return;
      }
      showStatus(msg.message || messages[msg.code] || 'Something went wrong.');
    }
  }

  // render swaps in a newer RoomBody, keeping keyboard focus where it was
  // (or on the next usable key) and announcing what happened.
  function render(html, v, fresh, announce) {
    var active = document.activeElement;
    var had = active && active !== room && room.contains(active);
    var letter = had && active.name === 'letter' ? active.value : '';
    var id = had ? active.id : '';
    room.innerHTML = html;
    room.setAttribute('data-version', String(v));
    var body = room.firstElementChild;
    var text = fresh ? announce || (body && body.getAttribute('data-announce')) || '' : '';
    if (text && announceEl) {
      // Clear first so that the same sentence twice is announced twice.
      announceEl.textContent = '';
      setTimeout(function () { announceEl.textContent = text; }, 50);
    }
    personalize();
    paintPending();
    if (had) restoreFocus(letter, id);
  }

  // Pushed fragments are the same for every viewer: show the host's own
  // controls to the host, and mark this player's row (bold, "you" tag).
  function personalize() {
    var me = room.getAttribute('data-player') || '';
    room.querySelectorAll('[data-host-only]').forEach(function (el) {
      el.hidden = !me || el.getAttribute('data-host-only') !== me;
    });
    room.querySelectorAll('[data-not-host]').forEach(function (el) {
      el.hidden = !!me && el.getAttribute('data-not-host') === me;
    });
    room.querySelectorAll('[data-player-name]').forEach(function (el) {
      var mine = !!me && el.getAttribute('data-player-name') === me;
      el.classList.toggle('player--you', mine);
      var tag = el.querySelector('.tag--you');
      if (tag) tag.hidden = !mine;
    });
  }

  function restoreFocus(letter, id) {
    // The host's own form is in every fragment, hidden from the others.
    var next = Array.prototype.filter.call(room.querySelectorAll('form[data-ws="next_round"] button'), function (b) {
      return !b.disabled && !b.closest('form').hidden;
    })[0];
    var keys = Array.prototype.slice.call(room.querySelectorAll('button[name="letter"]'));
    var start = Math.max(0, keys.findIndex(function (k) { return k.value === letter; }));
    // The control that had focus if it is still there and usable, else the
    // next usable key (a round being played), else the next-round button.
    var el = id && document.getElementById(id);
    if (el && (el.disabled || el.closest('[hidden]'))) el = null;
    for (var i = 0; !el && i < keys.length; i++) {
      if (!keys[(start + i) % keys.length].disabled) el = keys[(start + i) % keys.length];
    }
    (el || next || room).focus();
  }

  // Forms inside #room are replaced on every update, so listen on #room.
  room.addEventListener('submit', function (e) {
    var form = e.target, kind = form.getAttribute('data-ws');
    if (!kind) return;
    if (!conn.opened) {
      // No live connection yet: let the form post, with a request id.
      if (form.elements.request_id) form.elements.request_id.value = nextId();
      return;
    }
    e.preventDefault();
    if (kind === 'guess') {
      var b = e.submitter || document.activeElement;
      if (b && b.name === 'letter') guess(b.value);
    } else if (kind === 'next_round') {
      var round = Number(form.elements.round ? form.elements.round.value : 0);
      if (!pending.some(function (m) { return m.type === 'next_round'; })) request({ type: 'next_round', round: round });
    }
  });

  // Physical keyboard: a to z guess, unless typing in a field.
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    // ASCII letters only, checked before folding: toLowerCase would turn
    // look-alikes such as U+212A KELVIN SIGN into a letter.
    var key = e.key || '';
    if (!/^[a-zA-Z]$/.test(key)) return;
    var letter = key.toLowerCase();
    var b = keyButton(letter);
    if (!b || b.disabled) return;
    e.preventDefault();
    if (e.repeat) return;
    if (conn.opened) guess(letter);
    else b.click();
  });
})();
