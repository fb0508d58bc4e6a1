/* wallboard: the one WebSocket of a screen, and the clock-driven parts of the page.
 *
 * - subscribes with the page's selector (the #wb-page element's data-page),
 * - applies full views and patches in seq order (anything older is ignored),
 * - draws the wall TV straight into its DOM (assets/tiles.js); on team and manager pages
 *   writes the view's seq into the page's dcc.Store with dash_clientside.set_props, and
 *   Dash's clientside renderers read the view from here (a seq, not the view, goes through
 *   Dash: it records every store write in its undo history, which would grow for ever),
 * - reconnects by itself with capped, jittered backoff, at once when the tab
 *   becomes visible or the network comes back, and when heartbeats stop,
 * - ticks waits and times in state every second from epoch timestamps,
 * - greys the numbers out and says since when, when data is old or the link is dead,
 * - rotates a TV between its screens, shifts it a pixel a minute against burn-in,
 *   and reloads the page once a day.
 * Written for old smart-TV browsers too: no optional chaining, no modules.
 */
(function () {
  "use strict";
  var wb = window.wallboard = window.wallboard || {};
  var page = null, pageText = null, ws = null, attempt = 0, timer = null;
  var view = null, seq = -1, lastMessageAt = 0, lastDataAt = 0, generatedAt = null, rotationIndex = 0,
      rotationSince = Date.now();
  var metrics = wb.metrics = {messages: 0, connects: 0, opens: 0, applied: []};  // connects: attempts

  function readPage() {
    var el = document.getElementById("wb-page");
    var text = el ? el.getAttribute("data-page") : null;
    if (text !== pageText) {
      pageText = text;
      page = text ? JSON.parse(text) : null;
      view = null; seq = -1; generatedAt = null; rotationIndex = 0; rotationSince = Date.now();
      return true;
    }
    return false;
  }

  function setProps(id, props) {
    if (window.dash_clientside && window.dash_clientside.set_props) {  // a dcc.Store has no DOM node
      window.dash_clientside.set_props(id, props);
    }
  }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }

  function merge(base, changes) {  // mirrors wallboard/views.py apply_patch
    var out = {}, k;
    for (k in base) { out[k] = base[k]; }
    for (k in changes) {
      out[k] = isObject(changes[k]) && isObject(out[k]) ? merge(out[k], changes[k]) : changes[k];
    }
    return out;
  }

  function applyPatch(old, msg) {
    var out = merge(old, msg.set);
    for (var i = 0; i < msg.del.length; i++) {
      var path = msg.del[i], node = out;
      for (var j = 0; j < path.length - 1 && isObject(node); j++) { node = node[path[j]]; }
      if (isObject(node)) { delete node[path[path.length - 1]]; }
    }
    return out;
  }

  function onMessage(event) {
    lastMessageAt = Date.now();
    metrics.messages += 1;
    var msg = JSON.parse(event.data);
    if (msg.type === "hb") { return; }
    if (msg.seq === null || msg.seq === undefined || msg.seq <= seq) { return; }  // older than what we have
    if (msg.type === "full") {
      view = msg.view;
    } else if (msg.type === "patch") {
      if (msg.base !== seq || view === null) { ws.close(); return; }  // a gap: reconnect for a full view
      view = applyPatch(view, msg);
    } else {
      return;
    }
    seq = msg.seq;
    generatedAt = Date.parse(msg.generated_at);
    lastDataAt = Date.now();
    metrics.applied.push({seq: seq, at: performance.now()});
    if (metrics.applied.length > 50) { metrics.applied.shift(); }
    draw();
    tick();
  }

  function draw() {
    if (page.view === "wall") {
      if (wb.renderWall) { wb.renderWall(view, rotationIndex, page); }
    } else {
      setProps(page.ids.store, {data: seq});
    }
  }
  wb.view = function () { return view; };

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (!page) { return; }
    if (ws) { ws.onclose = null; try { ws.close(); } catch (e) { /* already closed */ } }
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(proto + location.host + "/ws");
    ws = socket;
    metrics.connects += 1;
    socket.onopen = function () {
      attempt = 0;
      var root = document.querySelector(".wb-root");
      if (root) { root.classList.remove("wb-denied"); }
      metrics.denied = 0;
      metrics.opens += 1;
      lastMessageAt = Date.now();
      socket.send(JSON.stringify({subscribe: page.selector}));
    };
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      if (ws !== socket) { return; }
      ws = null;
      if (event.code === 4401 || event.code === 4403) { deny(event.code); } else { schedule(); }
    };
    socket.onerror = function () { /* onclose follows */ };
  }

  // The server closed with 4401 (no valid key or session: a key revoked, a session over) or 4403
  // (not allowed): the screen goes dark at once, says why, and asks again every 30 s.
  function deny(code) {
    view = null;
    metrics.denied = code;
    var root = document.querySelector(".wb-root"), banner = document.getElementById(page.ids.banner);
    if (root) { root.classList.add("wb-denied"); }
    if (banner) { banner.textContent = code === 4403 ? page.labels.not_allowed : page.labels.revoked; }
    clearTimeout(timer);
    timer = setTimeout(connect, 30000);
  }

  function schedule() {
    clearTimeout(timer);
    var cap = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 10)));
    attempt += 1;
    timer = setTimeout(connect, Math.random() * cap);
  }

  function pad(n) { return n < 10 ? "0" + n : "" + n; }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  wb.duration = duration;
  wb.clock = function () { return clockText(Date.now(), false); };

  var clockFormats = {};  // building an Intl formatter costs far more than using one: one per kind
  function clockText(ms, withSeconds) {
    var lang = page ? page.lang : "es", zone = page ? page.timezone : undefined;
    var key = lang + "|" + zone + "|" + withSeconds;
    try {
      var f = clockFormats[key];
      if (!f) {
        var opts = {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone};
        if (withSeconds) { opts.second = "2-digit"; }
        f = clockFormats[key] = new Intl.DateTimeFormat(lang, opts);
      }
      return f.format(new Date(ms));
    } catch (e) { var d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  }

  function staleState() {
    if (!page) { return null; }
    var now = Date.now(), hb = page.heartbeat_s * 1000;
    if (!lastDataAt) { return {since: null}; }
    var linkDead = now - lastMessageAt > 3 * hb;
    var old = generatedAt !== null && now - generatedAt > page.stale_after_s * 1000;
    var sources = view && view.sources ? view.sources : {};
    var sourceStale = false;
    for (var k in sources) { if (sources[k] && sources[k].stale) { sourceStale = true; } }
    if (linkDead || old || sourceStale) { return {since: generatedAt}; }
    return false;
  }

  function tick() {
    if (!page) { return; }
    var now = Date.now();
    var nodes = document.querySelectorAll("[data-since]");
    for (var i = 0; i < nodes.length; i++) {
      var since = parseFloat(nodes[i].getAttribute("data-since"));
      var text = isNaN(since) ? "—" : duration(now / 1000 - since);
      if (nodes[i].textContent !== text) { nodes[i].textContent = text; }
      var steps = nodes[i].getAttribute("data-steps");
      if (steps && !isNaN(since)) {
        var level = 0, list = JSON.parse(steps);
        for (var j = 0; j < list.length; j++) { if (now / 1000 - since >= list[j]) { level = j + 1; } }
        var tile = nodes[i].closest ? nodes[i].closest("[data-escalate]") : null;
        if (tile) { tile.setAttribute("data-level", String(Math.min(level, 5))); }
      }
    }
    var clocks = document.querySelectorAll("[data-clock]");
    var clock = clockText(now, false);  // written only when the minute changes: a write re-lays out the header
    for (var c = 0; c < clocks.length; c++) { if (clocks[c].textContent !== clock) { clocks[c].textContent = clock; } }
    var stale = staleState(), root = document.querySelector(".wb-root"), banner = document.getElementById(page.ids.banner);
    if (root && banner && !metrics.denied) {
      if (stale) {
        root.classList.add("wb-stale");
        banner.textContent = stale.since ? page.labels.no_data_since + " " + clockText(stale.since, true)
          : page.labels.connecting;
      } else {
        root.classList.remove("wb-stale");
      }
    }
  }

  function rotate() {
    if (!page || !page.rotation || page.rotation.length < 2) { return; }
    var current = page.rotation[rotationIndex % page.rotation.length];
    if (Date.now() - rotationSince >= current.dwell_s * 1000) {
      rotationIndex = (rotationIndex + 1) % page.rotation.length;
      rotationSince = Date.now();
      draw();
    }
  }

  function watchdog() {
    if (readPage()) { attempt = 0; connect(); return; }
    if (!page) { return; }
    if (ws && ws.readyState === 1 && Date.now() - lastMessageAt > 3 * page.heartbeat_s * 1000) {
      ws.close();  // heartbeats stopped: the link is dead even if the socket does not know yet
    }
    if (!ws && !timer) { schedule(); }
    tick();
    rotate();
    shift();
  }

  // Against burn-in: the wall moves one pixel a minute around a small loop (discrete steps cost
  // one repaint a minute; a CSS animation would repaint every frame on a TV without a GPU).
  var SHIFTS = [[0, 0], [1, 0], [2, 1], [3, 1], [2, 2], [1, 3], [0, 3], [-1, 2], [-2, 2], [-3, 1], [-2, 0], [-1, -1]];
  function shift() {
    var body = document.querySelector(".wb-shift");
    if (!body) { return; }
    var step = SHIFTS[Math.floor(Date.now() / 60000) % SHIFTS.length];
    var transform = "translate(" + step[0] + "px, " + step[1] + "px)";
    if (body.style.transform !== transform) { body.style.transform = transform; }
  }

  function wake() {
    if (page && (!ws || ws.readyState > 1)) { attempt = 0; connect(); }
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) { wake(); } });
  window.addEventListener("online", wake);
  window.addEventListener("pageshow", wake);
  setInterval(watchdog, 1000);
  // A full reload once a day (at a random minute after 04:00) against leaks in long-lived tabs.
  (function scheduleReload() {
    var next = new Date();
    next.setHours(28, Math.floor(Math.random() * 60), 0, 0);
    setTimeout(function () { location.reload(); }, next.getTime() - Date.now());
  })();
})();
