/* wallboard: the tiles, and the wall TV drawn from them (used by /wall/<screen> and by the
 * TV-lite page /tv/<screen>, which loads nothing but this, wallboard.js and tv.css).
 *
 * A tile's spec comes from the page config (wallboard/layouts/board.py, from the registry in
 * wallboard/tiles.py): id, label, window, field, format, thresholds. Nothing here knows a
 * metric by name: a new tile is a line in wallboard/tiles.py.
 *
 * ES5 only (old smart-TV browsers: Chromium 47 and later): no let/const, arrow functions,
 * template strings, classes or modules; tests/test_es5.py parses it with acorn.
 * Everything is in one namespace, window.wallboard.
 */
(function () {
  "use strict";
  var wb = window.wallboard = window.wallboard || {};
  var ICON = wb.ICON = {ok: "\u2713", warn: "\u25B2", alert: "\u2716"};  // ✓ ▲ ✖: a cue besides colour
  var DASH = "\u2014", NBSP = "\u00A0";

  // Half away from zero on the number's decimal form (88.55 -> 88.6), as Intl does; toFixed works on
  // the binary double (88.55 -> "88.5"). Every figure and the gauge's arc round through here, so they agree.
  function round(value, digits) {
    var size = Math.abs(value);
    if (size < 1e-6) { return 0; }
    var r = Number(Math.round(Number(size + "e" + digits)) + "e-" + digits);
    return value < 0 ? -r : r;
  }
  wb.round = round;
  var formats = {};  // an Intl formatter is costly to build: one per language and digits
  function fmt(lang, value, digits) {
    if (value === null || value === undefined) { return DASH; }
    var key = lang + digits, rounded = round(value, digits);
    try {
      var f = formats[key] || (formats[key] = new Intl.NumberFormat(lang, {maximumFractionDigits: digits, minimumFractionDigits: digits}));
      return f.format(rounded);
    } catch (e) { return rounded.toFixed(digits); }
  }
  function pct(lang, value) { return value === null || value === undefined ? DASH : fmt(lang, value, 1) + "\u202F%"; }
  function secs(value) { return value === null || value === undefined ? DASH : wb.duration(value); }

  function level(value, th) {
    if (value === null || value === undefined || !th) { return "none"; }
    if (th.direction === "higher_is_worse") { return value >= th.alert ? "alert" : value >= th.warn ? "warn" : "ok"; }
    return value <= th.alert ? "alert" : value <= th.warn ? "warn" : "ok";
  }

  // The staffing gap now: ["3", "faltan", "short", "necesarios 14"], ["1", "sobra", "spare", …], or "—".
  function staffingText(st, labels, lang) {
    if (!st || st.gap === null || st.gap === undefined) { return [DASH, labels.staffing_none, "none", ""]; }
    var needed = labels.needed + " " + (st.capped ? "> " : "") + fmt(lang, st.needed, 0);
    if (st.gap > 0) { return [fmt(lang, st.gap, 0), st.gap === 1 ? labels.missing_one : labels.missing, "short", needed]; }
    if (st.gap < 0) { return [fmt(lang, -st.gap, 0), st.gap === -1 ? labels.spare_one : labels.spare, "spare", needed]; }
    return ["0", labels.exact, "exact", needed];
  }

  // "SL 80/20 · respondidas", or "SL mixto" where the queues' formulas or thresholds differ.
  function slCaption(block, labels, lang) {
    if (!block || block.sl_formula === undefined) { return NBSP; }
    if (block.sl_mixed) { return labels["formula.mixed"]; }
    var head = block.sl_target_pct === null || block.sl_target_pct === undefined
      ? "SL " + block.sl_threshold_s + " s"  // one rule, targets that differ: no one target to show
      : "SL " + fmt(lang, block.sl_target_pct, 0) + "/" + block.sl_threshold_s;
    return head + " \u00B7 " + labels["formula." + block.sl_formula];
  }

  // The part of a block (a screen, a queue, the centre) a window reads.
  function blockOf(source, win) {
    if (!source) { return null; }
    if (win === "now") { return source; }
    if (win === "today" || win === "interval") { return source[win] || null; }
    return source.windows ? source.windows[win] || null : null;
  }

  // A field of a block: "waiting", "agents.available", "sl" (its pct), "a+b" (a sum).
  function pick(block, field) {
    if (!block) { return null; }
    var parts = field.split("+");
    if (parts.length > 1) {
      var sum = 0;
      for (var i = 0; i < parts.length; i++) { sum += pick(block, parts[i]) || 0; }
      return sum;
    }
    var path = field.split("."), node = block;
    for (var j = 0; j < path.length && node !== null && node !== undefined; j++) { node = node[path[j]]; }
    if (node !== null && typeof node === "object" && node.pct !== undefined) { return node.pct; }
    return node === undefined ? null : node;
  }

  // A tile's value (for its colour) and text, from the block its window reads.
  function read(spec, source, labels, lang) {
    var block = blockOf(source, spec.window);
    var value = spec.fmt === "staffing" ? (block ? block.staffing : null) : pick(block, spec.field);
    var out = {value: value, text: DASH, since: null, sub: NBSP, lvl: "none"};
    if (spec.fmt === "staffing") {
      var st = staffingText(value, labels, lang);
      out.text = st[0]; out.sub = st[1] + (st[3] ? " \u00B7 " + st[3] : ""); out.lvl = "staffing-" + st[2];
      return out;
    }
    // a rate of too few calls is shown but not coloured (one abandon of two at 03:00 is no alert)
    var basis = spec.basis ? pick(block, spec.basis) : null;
    out.lvl = spec.basis && (basis === null || basis < spec.min_calls) ? "none" : level(value, spec.th);
    if (spec.fmt === "count") { out.text = fmt(lang, value, 0); }
    else if (spec.fmt === "pct") { out.text = pct(lang, value); }
    else if (spec.fmt === "duration") { out.text = secs(value); }
    else if (spec.fmt === "since") {
      out.since = block && block.oldest_since !== null && block.oldest_since !== undefined ? String(block.oldest_since) : "";
    }
    if (spec.rules) { out.sub = slCaption(source, labels, lang); }
    return out;
  }

  /* ---- DOM helpers: each update writes only the text, classes and attributes that changed. */
  var SVGNS = "http://www.w3.org/2000/svg";
  var ARC = "M 15 100 A 85 85 0 0 1 185 100";  // the gauge's half circle, 0 % on the left
  function el(tag, className, id, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (id) { node.id = id; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    return node;
  }
  function put(parent, children) {
    for (var i = 0; i < children.length; i++) { parent.appendChild(children[i]); }
    return parent;
  }
  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }
  function setClass(node, name) { if (node.getAttribute("class") !== name) { node.setAttribute("class", name); } }
  function setAttr(node, name, value) { if (node.getAttribute(name) !== value) { node.setAttribute(name, value); } }

  function gauge() {
    var g = {svg: svgEl("svg", {viewBox: "0 0 200 112", "class": "wb-gauge-svg wb-gauge-none", preserveAspectRatio: "xMidYMid meet"})};
    g.target = svgEl("path", {d: ARC, "class": "wb-gauge-target", pathLength: "100", "stroke-dasharray": "0 100 100"});
    g.value = svgEl("path", {d: ARC, "class": "wb-gauge-value", pathLength: "100", "stroke-dasharray": "0 100"});
    g.mark = svgEl("line", {"class": "wb-gauge-mark", x1: "15", y1: "100", x2: "15", y2: "100"});
    put(g.svg, [svgEl("path", {d: ARC, "class": "wb-gauge-track"}), g.target, g.value, g.mark]);
    g.root = put(el("div", "wb-gauge"), [g.svg]);
    return g;
  }
  function drawGauge(g, value, lvl, target) {
    var shown = round(Math.max(0, Math.min(100, value === null || value === undefined ? 0 : value)), 1);
    target = target === null || target === undefined ? 0 : target;  // 0: the queues' targets differ, no mark
    setClass(g.svg, "wb-gauge-svg wb-gauge-" + lvl);
    setAttr(g.value, "stroke-dasharray", shown.toFixed(1) + " 100");
    setAttr(g.target, "stroke-dasharray", "0 " + target + " 100");
    setAttr(g.mark, "visibility", target ? "visible" : "hidden");
    var a = Math.PI * target / 100, c = Math.cos(a), s = Math.sin(a);
    setAttr(g.mark, "x1", (100 - 68 * c).toFixed(1)); setAttr(g.mark, "y1", (100 - 68 * s).toFixed(1));
    setAttr(g.mark, "x2", (100 - 102 * c).toFixed(1)); setAttr(g.mark, "y2", (100 - 102 * s).toFixed(1));
  }

  /* ---- alerts: a figure that crosses into alert flashes for 5 s and says since when
   * ("✖ ALERTA · desde 10:42") for as long as it stays there; a screen with chime: true sounds
   * a short tone (a kiosk browser must allow autoplay: docs/DEPLOYMENT.md). What is already in
   * alert when a screen (of a rotation too) is first drawn does not flash or chime. */
  var alerts = {}, FLASH_MS = 5000, primed = {}, audio = null, lastChime = 0;
  function metrics() { return wb.metrics || (wb.metrics = {}); }
  function chime() {
    var now = Date.now();
    if (now - lastChime < 10000) { return; }  // one tone for a burst of crossings
    lastChime = now;
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      audio = audio || new Ctx();
      if (audio.resume) { audio.resume(); }
      var t = audio.currentTime, tones = [880, 660];
      for (var i = 0; i < tones.length; i++) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = tones[i];
        gain.gain.setValueAtTime(0.0001, t + i * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.4, t + i * 0.25 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.25 + 0.22);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t + i * 0.25); osc.stop(t + i * 0.25 + 0.24);
      }
      metrics().chimes = (metrics().chimes || 0) + 1;
      metrics().audio = audio.state;
    } catch (e) { metrics().audio = "error"; }
  }
  function alertState(rot, key, lvl, root) {
    var a = alerts[key], seen = primed[rot.id] === true;
    if (lvl !== "alert") {
      if (a) { delete alerts[key]; root.removeAttribute("data-flash"); }
      return null;
    }
    if (!a) {
      a = alerts[key] = {since: wb.clock(), at: seen ? Date.now() : 0};
      if (seen) {
        metrics().alerts = (metrics().alerts || 0) + 1;
        if (rot.chime) { chime(); }
      }
    }
    setAttr(root, "data-flash", Date.now() - a.at < FLASH_MS ? "1" : "0");
    return a;
  }
  function setCue(node, lvl, labels, since) {
    var shown = lvl.indexOf("staffing") === 0 ? "none" : lvl;
    setClass(node, shown === "none" ? "wb-cue" : "wb-cue wb-cue-" + shown);
    var text = shown === "none" ? NBSP : ICON[shown] + " " + labels[shown];
    if (since) { text += " \u00B7 " + labels.since + " " + since; }
    setText(node, text);
  }

  /* ---- the wall TV */
  // A small tile whose words are long (the staffing gap: "2 sobran · necesarios 14") is wider.
  function tileClass(spec) {
    return spec.big ? "wb-tile" : spec.fmt === "staffing" ? "wb-tile wb-tile-small wb-tile-wide" : "wb-tile wb-tile-small";
  }
  function mountTile(spec) {
    var t = {spec: spec, root: el("div", tileClass(spec), spec.id),
      label: el(spec.big ? "div" : "span", spec.big ? "wb-label" : null, null, spec.label),
      win: el(spec.big ? "div" : "span", "wb-window", null, spec.window_label),
      num: el("div", "wb-num", spec.id + "-num", DASH), sub: el("div", "wb-sub", spec.id + "-sub", NBSP), cue: el("div", "wb-cue", null, NBSP)};
    if (spec.fmt === "since") {
      t.num.className = "wb-num wb-ticking";
      t.root.setAttribute("data-escalate", "1");
      if (spec.th) { t.num.setAttribute("data-steps", JSON.stringify([spec.th.warn, spec.th.alert])); }
    }
    if (!spec.big) {  // one line for what and when, one for the number and its word
      if (spec.window === "now") { t.win.className = "wb-hidden"; }  // "1859 hoy": the window beside the number
      put(t.root, [put(el("div", "wb-label"), [t.label]), put(el("div", "wb-small-value"), [t.num, t.win, t.sub])]);
      return t;
    }
    put(t.root, [t.label, t.win, t.num]);
    if (spec.rules) { t.gauge = gauge(); t.root.appendChild(t.gauge.root); }
    put(t.root, [t.sub, t.cue]);
    return t;
  }

  function mountRows(rows) {
    var table = el("table", "wb-rows", "wb-rows"), head = el("tr"), body = el("tbody");
    head.appendChild(el("th", "wb-row-name", null, ""));
    for (var c = 0; c < rows.columns.length; c++) {
      var col = rows.columns[c];
      head.appendChild(put(el("th"), [el("div", null, null, col.label), el("div", "wb-window", null, col.window_label)]));
    }
    var out = {table: table, rows: []};
    for (var q = 0; q < rows.queues.length; q++) {
      var queue = rows.queues[q], tr = el("tr", "wb-row", queue.row_id);
      var name = el("td", "wb-row-name"), rule = el("div", "wb-row-rule", null, NBSP);
      put(name, [el("div", null, null, queue.name), rule]);
      tr.appendChild(name);
      var cells = [];
      for (var k = 0; k < rows.columns.length; k++) {
        var td = el("td", "wb-n");
        if (rows.columns[k].fmt === "since") { td.className = "wb-n wb-ticking"; }
        cells.push(td);
        tr.appendChild(td);
      }
      body.appendChild(tr);
      out.rows.push({queue: queue, rule: rule, cells: cells});
    }
    put(table, [put(el("thead"), [head]), body]);
    return out;
  }

  function mountWall(rot, page) {
    var root = document.getElementById(page.ids.wall);
    if (!root) { return null; }
    while (root.firstChild) { root.removeChild(root.firstChild); }
    var w = {rotId: rot.id, title: el("div", "wb-title", "wb-title"), clock: el("div", "wb-clock"), big: [], small: []};
    w.clock.setAttribute("data-clock", "1");
    root.appendChild(put(el("div", "wb-header"), [w.title, w.clock]));
    var bigRow = el("div", "wb-tiles wb-tiles-" + rot.tiles.length), smallRow = el("div", "wb-strip");
    for (var i = 0; i < rot.tiles.length; i++) {
      var t = mountTile(rot.tiles[i]);
      (t.spec.big ? w.big : w.small).push(t);
      (t.spec.big ? bigRow : smallRow).appendChild(t.root);
    }
    if (w.big.length) { root.appendChild(bigRow); }
    if (rot.rows) { w.rows = mountRows(rot.rows); root.appendChild(put(el("div", "wb-rows-box"), [w.rows.table])); }
    if (w.small.length) { root.appendChild(smallRow); }
    w.tickerText = el("span");
    w.ticker = put(el("div", "wb-ticker wb-hidden", "wb-ticker"), [w.tickerText]);
    root.appendChild(w.ticker);
    root.className = "wb-wall-body wb-shift" + (rot.rows ? " wb-with-rows wb-rows-" + rot.rows.queues.length : "");
    return w;
  }

  function drawTile(t, source, labels, lang, rot) {
    var r = read(t.spec, source, labels, lang);
    if (r.since !== null) {
      setAttr(t.num, "data-since", r.since);
      if (r.since === "") { setText(t.num, DASH); }
    } else {
      setText(t.num, r.text);
    }
    setText(t.sub, r.sub);
    setClass(t.root, tileClass(t.spec) + " wb-level-" + r.lvl);
    var a = alertState(rot, rot.id + ":" + t.spec.id, r.lvl, t.root);
    setCue(t.cue, r.lvl, labels, a ? a.since : "");
    if (t.gauge) {
      var block = source || {};
      drawGauge(t.gauge, r.value, r.lvl, block.sl_target_pct);
    }
  }

  function drawRows(w, view, rot, labels, lang) {
    var queues = view.queues || {}, cols = rot.rows.columns;
    for (var i = 0; i < w.rows.rows.length; i++) {
      var row = w.rows.rows[i], block = queues[row.queue.id];
      setText(row.rule, block ? slCaption(block, labels, lang) : NBSP);
      for (var c = 0; c < cols.length; c++) {
        var col = cols[c], spec = {metric: col.metric, window: col.window, field: col.field, fmt: col.fmt,
          basis: col.basis, min_calls: col.min_calls,
          th: col.threshold ? row.queue.th[col.threshold] : null};  // that queue's own colours
        var r = read(spec, block, labels, lang), td = row.cells[c];
        var text = r.since !== null ? null : r.lvl === "alert" || r.lvl === "warn" ? ICON[r.lvl] + " " + r.text : r.text;
        if (col.fmt === "staffing") { text = r.text === DASH ? DASH : r.text + " " + r.sub.split(" \u00B7 ")[0]; }
        if (r.since !== null) {
          setAttr(td, "data-since", r.since);
          if (r.since === "") { setText(td, DASH); }
        } else {
          setText(td, text);
        }
        setClass(td, "wb-n" + (r.since !== null ? " wb-ticking" : "") + " wb-level-" + r.lvl);
        alertState(rot, rot.id + ":" + row.queue.id + ":" + col.metric + ":" + col.window, r.lvl, td);
      }
    }
  }

  var wall = null;
  function renderWall(view, rotationIndex, page) {
    var labels = page.labels, lang = page.lang;
    var rot = page.rotation[(rotationIndex || 0) % page.rotation.length];
    var sc = view && view.screens ? view.screens[rot.id] : null;
    if (!wall || wall.rotId !== rot.id || !document.getElementById("wb-title")) {
      if (!sc) { return; }  // the page shows "connecting" until data comes
      wall = mountWall(rot, page);
      if (!wall) { return; }
    }
    var w = wall;
    setText(w.title, (sc && sc.title) || rot.title || labels.centre);  // the clock is wallboard.js's tick()
    for (var i = 0; i < w.big.length; i++) { drawTile(w.big[i], tileSource(w.big[i], sc, view), labels, lang, rot); }
    for (var j = 0; j < w.small.length; j++) { drawTile(w.small[j], tileSource(w.small[j], sc, view), labels, lang, rot); }
    if (w.rows) { drawRows(w, view, rot, labels, lang); }
    var ticker = view && view.ticker ? (view.ticker[rot.id] || view.ticker["*"] || "") : "";
    setText(w.tickerText, ticker);
    setClass(w.ticker, "wb-ticker" + (ticker ? "" : " wb-hidden"));
    primed[rot.id] = true;
  }
  function tileSource(t, sc, view) {
    return t.spec.queue && view.queues && view.queues[t.spec.queue] ? view.queues[t.spec.queue] : sc;
  }

  wb.fmt = fmt; wb.pct = pct; wb.secs = secs; wb.level = level;
  wb.staffingText = staffingText; wb.slCaption = slCaption;
  wb.blockOf = blockOf; wb.pick = pick; wb.read = read;
  wb.renderWall = renderWall;
})();
