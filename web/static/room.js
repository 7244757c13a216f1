// Gallows: a room's page, live (docs/PROTOCOL.md). Progressive enhancement
// only: without it every form still posts. It needs app.js, loaded first.
(function () {
  'use strict';

  var room = document.getElementById('room');
  var live = window.gallowsLive;
  if (!room || !live) return;

  var statusEl = document.getElementById('status');
  var announceEl = document.getElementById('announce');
  var messages = {
    invalid_letter: 'Only the letters a to z can be guessed.',
    already_guessed: 'That letter has already been guessed.',
    round_over: 'This round is over.',
    match_over: 'The match is over: the host can start a rematch.',
    last_round: 'This is the match\'s last round: it is played to the end.',
    room_full: 'The room is full.',
    not_found: 'This room no longer exists.',
    no_quorum: 'Electing a new leader: your guess will be sent again.',
    no_majority: 'Too few game servers are up: waiting for a majority.',
    bad_request: 'The server did not understand that request.',
    unauthorized: 'Pick a nickname to play.',
    name_taken: 'Someone else plays in this room under your nickname: pick another.',
    forbidden: 'Only the host can do that.',
    host_watches: 'You chose this word, so you watch this round: the others guess.'
  };
  // Codes after which a request is kept and sent again with its request id:
  // the cluster cannot commit it now, and will apply it once.
  var waitCodes = { no_quorum: true, no_majority: true, rate_limited: true };

  var tab = randomHex(8), seq = 0, statusTimer = 0, resendTimer = 0, waits = 0;
  var pending = []; // sent or queued, not yet acknowledged; oldest first
  var resent = {}; // request ids sent more than once
  var expired = {}; // versions whose countdown this tab reported
  var roomId = room.getAttribute('data-room') || '';
  var watch = /[?&]watch=1(&|$)/.test(location.search) ? '&watch=1' : '';
  var conn = live(function () {
    // since one below the version shown: the frontend answers at once with
    // its current state, which also says which backend streams it.
    return '/ws/rooms/' + encodeURIComponent(roomId) + '?since=' + Math.max(0, version() - 1) + watch;
  }, onMessage, resend, gone);

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

  // gone: the room no longer exists (the socket closed with 4404).
  function gone() {
    pending = [];
    room.querySelectorAll('form').forEach(function (f) { f.hidden = true; });
    statusEl.textContent = '';
    statusEl.appendChild(document.createTextNode('This room no longer exists. '));
    var a = document.createElement('a');
    a.href = '/';
    a.textContent = 'Start or join another on the home page';
    statusEl.appendChild(a);
    statusEl.classList.add('status--gone');
  }

  function randomHex(n) {
    var a = crypto.getRandomValues(new Uint8Array(n));
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function nextId() { seq += 1; return tab + '-' + seq; }
  function version() { return Number(room.getAttribute('data-version')) || 0; }

  function attr(name) {
    var el = room.querySelector('[' + name + ']');
    return (el && Number(el.getAttribute(name))) || 0;
  }

  // showStatus shows text for 8 s, or until replaced when sticky.
  function showStatus(text, sticky) {
    statusEl.textContent = text || '';
    clearTimeout(statusTimer);
    if (!sticky) statusTimer = setTimeout(function () { statusEl.textContent = ''; }, 8000);
  }

  function keyButton(l) { return room.querySelector('button[name="letter"][value="' + l + '"]'); }

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
    if (!b || b.disabled || b.closest('[hidden]')) return;
    if (pending.some(function (m) { return m.type === 'guess' && m.letter === letter; })) return;
    if (!waits) showStatus('');
    request({ type: 'guess', letter: letter, round: attr('data-round') });
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
      if (waits) { waits = 0; showStatus('Back to normal: your guess is in.'); }
    } else if (msg.type === 'error') {
      var again = resent[msg.request_id];
      if (!msg.request_id || waitCodes[msg.code]) {
        // Not applied, and it can be later: keep it pending and send it
        // again, with the same request id, after a backoff (1 s to 4 s).
        var held = pending.filter(function (m) { return m.type === 'guess'; }).map(function (m) { return m.letter.toUpperCase(); });
        if (msg.code !== 'rate_limited') {
          waits += 1;
          showStatus((msg.message || messages[msg.code]) + (held.length ? ' Your guess ' + held.join(', ') + ' is waiting and will be sent then.' : ''), true);
        }
        if (!resendTimer) resendTimer = setTimeout(resend, Math.min(4000, 1000 * Math.max(1, waits)));
        return;
      }
      settle(msg.request_id);
      // A guess sent again whose first sending was applied: the letter
      // is in, as the player wanted. A countdown reported late: no news.
      if ((again && msg.code === 'already_guessed') || msg.code === 'turn_not_over') return;
      waits = 0;
      showStatus(messages[msg.code] || msg.message || 'Something went wrong.');
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
    // Guesses of a round that is over are answered round_over: drop them.
    pending = pending.filter(function (m) { return m.type !== 'guess' || m.round === attr('data-round'); });
    personalize();
    paintPending();
    tick();
    if (had) restoreFocus(letter, id);
  }

  // Pushed fragments are the same for every viewer: show the host's own
  // controls to the host, the keyboard to players (not to the host who
  // chose the word), and mark this player's row (bold, "you" tag).
  function personalize() {
    var me = room.getAttribute('data-player') || '';
    room.querySelectorAll('[data-host-only]').forEach(function (el) {
      el.hidden = !me || el.getAttribute('data-host-only') !== me;
    });
    room.querySelectorAll('[data-not-host]').forEach(function (el) {
      el.hidden = !!me && el.getAttribute('data-not-host') === me;
    });
    room.querySelectorAll('[data-players-only]').forEach(function (el) {
      el.hidden = !me || el.getAttribute('data-watcher') === me;
    });
    room.querySelectorAll('[data-player-name]').forEach(function (el) {
      var mine = !!me && el.getAttribute('data-player-name') === me;
      el.classList.toggle('player--you', mine);
      var tag = el.querySelector('.tag--you');
      if (tag) tag.hidden = !mine;
    });
    var n = document.querySelector('[data-players-count]');
    if (n) n.textContent = String(attr('data-players'));
  }

  // restoreFocus puts focus back where it was, without scrolling: the
  // word and the drawing stay where the player looks.
  function restoreFocus(letter, id) {
    // The host's own form is in every fragment, hidden from the others.
    var next = Array.prototype.filter.call(room.querySelectorAll('form[data-host-only] button'), function (b) {
      return !b.disabled && !b.closest('[hidden]');
    })[0];
    var keys = Array.prototype.filter.call(room.querySelectorAll('button[name="letter"]'), function (k) {
      return !k.closest('[hidden]');
    });
    var start = Math.max(0, keys.findIndex(function (k) { return k.value === letter; }));
    // The control that had focus if it is still there and usable, else the
    // next usable key (a round being played), else the host's button.
    var el = id && document.getElementById(id);
    if (el && (el.disabled || el.closest('[hidden]'))) el = null;
    for (var i = 0; !el && i < keys.length; i++) {
      if (!keys[(start + i) % keys.length].disabled) el = keys[(start + i) % keys.length];
    }
    (el || next || room).focus({ preventScroll: true });
  }

  // tick shows the seconds left for the next guess; at zero a player's
  // tab reports it for the version shown, at most once a second (every
  // tab may: the backends apply one report per turn).
  function tick() {
    var el = room.querySelector('.countdown[data-deadline]');
    if (!el) return;
    var left = Math.max(0, Math.ceil((Number(el.getAttribute('data-deadline')) - Date.now()) / 1000));
    var n = el.querySelector('.countdown__n');
    if (n) n.textContent = left + ' s';
    el.classList.toggle('countdown--low', left <= 5);
    var v = el.getAttribute('data-version');
    // Refused as early (this clock runs ahead of the leader's): again in 1 s.
    if (left === 0 && room.getAttribute('data-player') && !(expired[v] > Date.now()) && conn.opened) {
      expired[v] = Date.now() + 1000;
      conn.send({ type: 'timeout', version: Number(v) });
    }
  }
  setInterval(tick, 250);

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
    } else if (!pending.some(function (m) { return m.type === kind; })) {
      var msg = { type: kind };
      if (form.elements.round) msg.round = Number(form.elements.round.value);
      if (form.elements.match) msg.match = Number(form.elements.match.value);
      if (form.elements.word && form.elements.word.value.trim()) msg.word = form.elements.word.value.trim();
      request(msg);
    }
  });

  // The invite link's copy button (hidden without this script).
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    var input = document.getElementById(btn.getAttribute('data-copy'));
    if (!input) return;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      var done = function () { showStatus('Invite link copied.'); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
      } else {
        input.select();
        if (document.execCommand('copy')) done();
      }
    });
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
    if (!b || b.disabled || b.closest('[hidden]')) return;
    e.preventDefault();
    if (e.repeat) return;
    if (conn.opened) guess(letter);
    else b.click();
  });

  personalize();
  tick();
})();
