/* wallboard: clientside renderers, one per view, in the dash_clientside.wallboard namespace.
 * The team and manager renderers take the view (see wallboard/views.py) and the page config
 * and return Dash components as JSON; the wall TV's renderer writes its DOM directly. Times that tick carry data-since (epoch s);
 * assets/wallboard.js updates them every second.
 */
(function () {
  "use strict";
  var STATES = ["available", "ringing", "on_call", "on_hold", "wrap_up", "not_ready", "logged_out"];
  var ICON = {ok: "\u2713", warn: "\u25B2", alert: "\u2716"};  // ✓ ▲ ✖: a cue besides colour

  function h(type, props, children) {
    var p = {};
    for (var k in props || {}) { p[k] = props[k]; }
    if (children !== undefined) { p.children = children; }
    // Dash names html components like the tags, capitalised: Div, Span, Table, Tr, Td, …
    return {type: type.charAt(0).toUpperCase() + type.slice(1), namespace: "dash_html_components", props: p};
  }

  var formats = {};  // an Intl formatter is costly to build: one per language and digits
  function fmt(lang, value, digits) {
    if (value === null || value === undefined) { return "\u2014"; }
    var key = lang + digits;
    try {
      var f = formats[key] || (formats[key] = new Intl.NumberFormat(lang, {maximumFractionDigits: digits, minimumFractionDigits: digits}));
      return f.format(value);
    } catch (e) { return value.toFixed(digits); }
  }
  function pct(lang, value) { return value === null || value === undefined ? "\u2014" : fmt(lang, value, 1) + "\u202F%"; }
  function secs(value) { return value === null || value === undefined ? "\u2014" : window.wallboardDuration(value); }

  function level(value, th) {
    if (value === null || value === undefined || !th) { return "none"; }
    if (th.direction === "higher_is_worse") { return value >= th.alert ? "alert" : value >= th.warn ? "warn" : "ok"; }
    return value <= th.alert ? "alert" : value <= th.warn ? "warn" : "ok";
  }

  function cue(lvl, labels) {
    if (lvl === "none") { return h("div", {className: "wb-cue"}, "\u00A0"); }
    return h("div", {className: "wb-cue wb-cue-" + lvl}, ICON[lvl] + " " + labels[lvl]);
  }

  function tile(label, valueNode, lvl, labels, extra) {
    var props = {className: "wb-tile wb-level-" + lvl};
    for (var k in extra || {}) { props[k] = extra[k]; }
    return h("div", props, [h("div", {className: "wb-label"}, label), valueNode, cue(lvl, labels)]);
  }

  function num(text, id) { return h("div", {className: "wb-num", id: id}, text); }

  function agentsRow(agents, labels, lang) {
    var a = agents || {};
    var onCall = (a.on_call || 0) + (a.on_hold || 0) + (a.ringing || 0);
    return h("div", {className: "wb-agents"}, [
      h("div", {className: "wb-agent-count wb-state-available"}, [h("span", {className: "wb-num"}, fmt(lang, a.available || 0, 0)), h("span", {}, labels.available)]),
      h("div", {className: "wb-agent-count wb-state-on_call"}, [h("span", {className: "wb-num"}, fmt(lang, onCall, 0)), h("span", {}, labels.on_call)]),
      h("div", {className: "wb-agent-count wb-state-wrap_up"}, [h("span", {className: "wb-num"}, fmt(lang, a.wrap_up || 0, 0)), h("span", {}, labels.wrap_up)]),
      h("div", {className: "wb-agent-count wb-state-not_ready"}, [h("span", {className: "wb-num"}, fmt(lang, a.not_ready || 0, 0)), h("span", {}, labels.not_ready)])
    ]);
  }

  /* ---- the wall TV: its DOM is built once, then each update writes only the text, classes and
   * attributes that changed (no Dash callback, no React tree, no Plotly: a TV's CPU is small). */
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

  function wallTile(numId, extraClass) {
    var t = {root: el("div", "wb-tile"), label: el("div", "wb-label"), num: el("div", "wb-num" + (extraClass || ""), numId),
      sub: el("div", "wb-sub", numId + "-now", "\u00A0"), cue: el("div", "wb-cue", null, "\u00A0")};
    put(t.root, [t.label, t.num, t.sub, t.cue]);
    return t;
  }
  // A tile that crosses into alert flashes for 5 s and says since when ("✖ ALERTA · desde 10:42"),
  // per screen and tile, for as long as it stays in alert.
  var alerts = {}, FLASH_MS = 5000;
  function alertCue(key, root, cue, lvl, labels) {
    setCue(cue, lvl, labels);
    var a = alerts[key];
    if (lvl !== "alert") {
      if (a) { delete alerts[key]; root.removeAttribute("data-flash"); }
      return;
    }
    if (!a) {
      a = alerts[key] = {since: window.wallboardClock(), at: Date.now()};
      window.wallboardMetrics.alerts = (window.wallboardMetrics.alerts || 0) + 1;
    }
    setAttr(root, "data-flash", Date.now() - a.at < FLASH_MS ? "1" : "0");
    setText(cue, ICON.alert + " " + labels.alert + " \u00B7 " + labels.since + " " + a.since);
  }
  function setCue(node, lvl, labels) {
    setClass(node, lvl === "none" ? "wb-cue" : "wb-cue wb-cue-" + lvl);
    setText(node, lvl === "none" ? "\u00A0" : ICON[lvl] + " " + labels[lvl]);
  }

  function mountWall() {
    var byId = function (id) { return document.getElementById(id); };
    var w = {title: el("div", "wb-title", "wb-title"), clock: el("div", "wb-clock")};
    w.clock.setAttribute("data-clock", "1");
    put(byId("wb-wall-head"), [put(el("div", "wb-header"), [w.title, w.clock])]);
    w.waiting = wallTile("wb-waiting");
    w.longest = wallTile("wb-longest", " wb-ticking");
    w.longest.root.setAttribute("data-escalate", "1");
    put(byId("wb-wall-left"), [w.waiting.root, w.longest.root]);
    w.slTile = byId("wb-sl-tile");
    w.slLabel = el("div", "wb-label");
    put(byId("wb-sl-head"), [w.slLabel]);
    w.slNum = el("div", "wb-num wb-sl-number", "wb-sl");
    w.slCaption = el("div", "wb-sl-caption", "wb-sl-caption");
    w.slCue = el("div", "wb-cue", null, "\u00A0");
    w.slNow = el("div", "wb-sub", "wb-sl-now", "\u00A0");  // the same for the shortest rolling window
    w.counts = el("div", "wb-sub wb-counts", "wb-counts", "\u00A0");  // answered / abandoned today
    put(byId("wb-sl-foot"), [w.slNum, w.slCaption, w.slNow, w.counts, w.slCue]);
    w.gauge = svgEl("svg", {viewBox: "0 0 200 112", "class": "wb-gauge-svg wb-gauge-none", preserveAspectRatio: "xMidYMid meet"});
    w.target = svgEl("path", {d: ARC, "class": "wb-gauge-target", pathLength: "100", "stroke-dasharray": "0 100 100"});
    w.value = svgEl("path", {d: ARC, "class": "wb-gauge-value", pathLength: "100", "stroke-dasharray": "0 100"});
    w.mark = svgEl("line", {"class": "wb-gauge-mark", x1: "15", y1: "100", x2: "15", y2: "100"});
    put(w.gauge, [svgEl("path", {d: ARC, "class": "wb-gauge-track"}), w.target, w.value, w.mark]);
    put(byId("wb-gauge"), [w.gauge]);
    w.abandon = wallTile("wb-abandon");
    w.asa = wallTile("wb-asa");
    put(byId("wb-wall-right"), [w.abandon.root, w.asa.root]);
    w.agents = {};
    var row = el("div", "wb-agents");
    ["available", "on_call", "wrap_up", "not_ready"].forEach(function (state) {
      var count = {num: el("span", "wb-num"), label: el("span")};
      w.agents[state] = count;
      row.appendChild(put(el("div", "wb-agent-count wb-state-" + state), [count.num, count.label]));
    });
    w.staffing = {root: el("div", "wb-agent-count wb-staffing", "wb-staffing"), num: el("span", "wb-num"), label: el("span")};
    row.appendChild(put(w.staffing.root, [w.staffing.num, w.staffing.label]));
    w.tickerText = el("span");
    w.ticker = put(el("div", "wb-ticker wb-hidden", "wb-ticker"), [w.tickerText]);
    put(byId("wb-wall-foot"), [row, w.ticker]);
    return w;
  }

  var wall = null;

  function renderWall(view, rotationIndex, page) {
    var labels = page.labels, lang = page.lang;
    var rot = page.rotation[(rotationIndex || 0) % page.rotation.length];
    var sc = view && view.screens ? view.screens[rot.id] : null;
    if (!wall || !document.getElementById("wb-title")) {
      if (!sc || !document.getElementById("wb-wall-head")) { return; }  // the page shows "connecting" until data comes
      wall = mountWall();
      document.getElementById("wb-wall-connecting").className = "wb-hidden";
    }
    var w = wall;
    setText(w.title, (sc && sc.title) || rot.title);  // the clock is wallboard.js's tick()
    sc = sc || {today: {sl: {pct: null}}, agents: {}, oldest_since: null};
    var th = rot.thresholds, today = sc.today;
    var sl = today.sl ? today.sl.pct : null;  // each queue by its own formula (METRICS.md)
    var slLevel = level(sl, th.service_level_pct), wait = th.longest_wait_s;

    setText(w.waiting.label, labels.waiting);
    setText(w.waiting.num, fmt(lang, sc.waiting, 0));
    var lvl = level(sc.waiting, th.waiting);
    setClass(w.waiting.root, "wb-tile wb-level-" + lvl);
    alertCue(rot.id + ":waiting", w.waiting.root, w.waiting.cue, lvl, labels);

    setText(w.longest.label, labels.longest);
    setAttr(w.longest.num, "data-since", sc.oldest_since === null || sc.oldest_since === undefined ? "" : String(sc.oldest_since));
    setAttr(w.longest.num, "data-steps", JSON.stringify([wait.warn, wait.alert]));
    if (sc.oldest_since === null || sc.oldest_since === undefined) { setText(w.longest.num, "\u2014"); }
    lvl = level(sc.longest_wait_s, th.longest_wait_s);
    setClass(w.longest.root, "wb-tile wb-level-" + lvl);
    alertCue(rot.id + ":longest", w.longest.root, w.longest.cue, lvl, labels);

    setText(w.slLabel, labels.sl);
    setText(w.slNum, pct(lang, sl));
    setText(w.slCaption, slCaption(sc, labels, lang) + " \u00B7 " + labels.today);
    alertCue(rot.id + ":sl", w.slTile, w.slCue, slLevel, labels);
    setClass(w.slTile, "wb-tile wb-tile-sl wb-level-" + slLevel);
    var target = sc.sl_target_pct === null || sc.sl_target_pct === undefined ? 0 : sc.sl_target_pct;  // 0: no mark
    var shown = Math.max(0, Math.min(100, sl === null || sl === undefined ? 0 : sl));
    setClass(w.gauge, "wb-gauge-svg wb-gauge-" + slLevel);
    setAttr(w.value, "stroke-dasharray", shown.toFixed(1) + " 100");
    setAttr(w.target, "stroke-dasharray", "0 " + target + " 100");
    setAttr(w.mark, "visibility", target ? "visible" : "hidden");  // the queues' targets differ: no one mark
    var a = Math.PI * target / 100, c = Math.cos(a), s = Math.sin(a);
    setAttr(w.mark, "x1", (100 - 68 * c).toFixed(1)); setAttr(w.mark, "y1", (100 - 68 * s).toFixed(1));
    setAttr(w.mark, "x2", (100 - 102 * c).toFixed(1)); setAttr(w.mark, "y2", (100 - 102 * s).toFixed(1));

    setText(w.abandon.label, labels.abandon + " \u00B7 " + labels.today);
    // "Now" beside "today": the shortest rolling window (a day at 85 % can hide a quarter hour at 18 %).
    var win = view && view.windows && view.windows.length ? String(view.windows[0]) : null;
    var recent = win && sc.windows ? sc.windows[win] : null;
    var lastN = win ? labels.last_n.replace("{n}", win) + ": " : "";
    function nowLine(node, value, text, thresholds) {
      var lv = recent ? level(value, thresholds) : "none";
      setText(node, recent ? lastN + text : "\u00A0");
      setClass(node, "wb-sub wb-level-" + lv);
    }
    var recentSl = recent && recent.sl ? recent.sl.pct : null;
    nowLine(w.slNow, recentSl, pct(lang, recentSl), th.service_level_pct);
    setText(w.counts, labels.today + ": " + fmt(lang, today.answered || 0, 0) + " " + labels.answered_n + " \u00B7 "
      + fmt(lang, today.abandoned || 0, 0) + " " + labels.abandoned_n);
    nowLine(w.abandon.sub, recent && recent.abandon_rate_pct, pct(lang, recent && recent.abandon_rate_pct), th.abandon_rate_pct);
    nowLine(w.asa.sub, recent && recent.asa_s, secs(recent && recent.asa_s), th.asa_s);
    setText(w.abandon.num, pct(lang, today.abandon_rate_pct));
    lvl = level(today.abandon_rate_pct, th.abandon_rate_pct);
    setClass(w.abandon.root, "wb-tile wb-level-" + lvl);
    alertCue(rot.id + ":abandon", w.abandon.root, w.abandon.cue, lvl, labels);
    setText(w.asa.label, labels.asa + " \u00B7 " + labels.today);
    setText(w.asa.num, secs(today.asa_s));
    lvl = level(today.asa_s, th.asa_s);
    setClass(w.asa.root, "wb-tile wb-level-" + lvl);
    alertCue(rot.id + ":asa", w.asa.root, w.asa.cue, lvl, labels);

    var ag = sc.agents || {};
    var counts = {available: ag.available || 0, on_call: (ag.on_call || 0) + (ag.on_hold || 0) + (ag.ringing || 0),
      wrap_up: ag.wrap_up || 0, not_ready: ag.not_ready || 0};
    for (var state in counts) {
      setText(w.agents[state].num, fmt(lang, counts[state], 0));
      setText(w.agents[state].label, labels[state]);
    }
    var gapText = staffingText(sc.staffing, labels, lang);
    setText(w.staffing.num, gapText[0]);
    setText(w.staffing.label, gapText[1]);
    setAttr(w.staffing.root, "title", gapText[3]);
    setClass(w.staffing.root, "wb-agent-count wb-staffing wb-staffing-" + gapText[2]);
    var ticker = view && view.ticker ? (view.ticker[rot.id] || view.ticker["*"] || "") : "";
    setText(w.tickerText, ticker);
    setClass(w.ticker, "wb-ticker" + (ticker ? "" : " wb-hidden"));
  }

  function stateSteps(agent, page) {
    var steps = (page.time_in_state[agent.state] || []).slice();
    var reason = page.pause_reasons[agent.reason];
    if (agent.state === "not_ready" && reason && reason.limit_s) {
      steps = steps.filter(function (s) { return s < reason.limit_s; }).slice(0, 4);
      while (steps.length < 4) { steps.push(reason.limit_s); }
      steps.push(reason.limit_s);
    }
    return steps;
  }

  function currentView() { return window.wallboardView ? window.wallboardView() : null; }

  function renderTeam(seq, sort, filter, page) {  // seq: the store holds only the view's seq (see wallboard.js)
    var labels = page.labels, lang = page.lang, view = currentView();
    if (!view || !view.team) { return h("div", {className: "wb-waiting-data"}, labels.connecting); }
    var team = view.team, work = team.today || {};
    var ids = Object.keys(view.agents || {});
    var needle = (filter || "").toLowerCase();
    var rows = ids.map(function (id) { var a = view.agents[id]; a.id = id; return a; }).filter(function (a) {
      if (!needle) { return true; }
      return (a.name + " " + a.id + " " + (labels["state." + a.state] || "") + " " + (a.reason || "")).toLowerCase().indexOf(needle) >= 0;
    });
    var now = Date.now() / 1000;
    rows.sort(function (x, y) {
      if (sort === "name") { return x.name.localeCompare(y.name); }
      if (sort === "calls") { return (y.today.handled - x.today.handled) || x.name.localeCompare(y.name); }
      if (sort === "time") { return (x.since - y.since) || x.name.localeCompare(y.name); }
      return (STATES.indexOf(x.state) - STATES.indexOf(y.state)) || (x.since - y.since);
    });
    var kpis = h("div", {className: "wb-team-kpis"}, [
      h("div", {className: "wb-kpi"}, [h("span", {}, labels.handled), h("b", {id: "wb-team-handled"}, fmt(lang, work.handled || 0, 0))]),
      h("div", {className: "wb-kpi"}, [h("span", {}, labels.aht), h("b", {}, secs(work.aht_s))]),
      h("div", {className: "wb-kpi"}, [h("span", {}, labels.asa), h("b", {}, secs(work.asa_s))]),
      h("div", {className: "wb-kpi"}, [h("span", {}, labels.occupancy), h("b", {}, pct(lang, work.occupancy_pct))]),
      h("div", {className: "wb-kpi"}, [h("span", {}, labels.paused), h("b", {}, secs(work.paused_s))])
    ]);
    var queues = Object.keys(view.queues || {}).map(function (q) {
      var d = view.queues[q];
      var st = staffingText(d.staffing, labels, lang);
      return h("div", {className: "wb-kpi"}, [h("span", {}, d.name), h("b", {}, fmt(lang, d.waiting, 0) + " \u00B7 "),
        h("b", {className: "wb-ticking", "data-since": d.oldest_since === null ? "" : d.oldest_since}, d.oldest_since === null ? "\u2014" : secs(d.longest_wait_s)),
        h("span", {className: "wb-staffing-" + st[2]}, st[2] === "none" ? "" : " \u00B7 " + st[0] + " " + st[1])]);
    });
    // Headers of number columns sit over their right-aligned numbers.
    var head = h("tr", {}, [labels.agent, labels.state, labels.reason, labels.time, labels.calls, labels.aht, labels.paused]
      .map(function (t, i) { return h("th", i >= 4 ? {className: "wb-n"} : {}, t); }));
    var body = rows.map(function (a) {
      var reason = a.reason ? ((page.pause_reasons[a.reason] || {}).name || a.reason) : "";
      var since = a.state === "logged_out" ? "" : a.since;
      return h("tr", {className: "wb-agent-row wb-state-" + a.state, "data-escalate": "1", "data-level": "0", id: "wb-agent-" + a.id.replace(/[^A-Za-z0-9_-]/g, "_")}, [
        h("td", {className: "wb-agent-name"}, a.name),
        h("td", {className: "wb-agent-state"}, labels["state." + a.state] || a.state),
        h("td", {}, reason),
        h("td", {className: "wb-ticking", "data-since": since, "data-steps": JSON.stringify(stateSteps(a, page))}, since === "" ? "\u2014" : secs(now - a.since)),
        h("td", {className: "wb-n"}, fmt(lang, a.today.handled, 0)),
        h("td", {className: "wb-n"}, secs(a.today.aht_s)),
        h("td", {className: "wb-n"}, secs(a.today.paused_s))
      ]);
    });
    return [
      h("div", {className: "wb-header"}, [h("div", {className: "wb-title"}, team.name || team.id), h("div", {className: "wb-clock", "data-clock": "1"}, window.wallboardClock())]),
      kpis,
      agentsRow(team.agents, labels, lang),
      h("div", {className: "wb-team-queues"}, queues),
      h("table", {className: "wb-grid table table-sm", id: "wb-agent-grid"}, [h("thead", {}, head), h("tbody", {}, body)])
    ];
  }

  function trendFigures(series, target, labels, timezone) {
    var x = series.map(function (r) { return new Date(r.start * 1000).toLocaleTimeString("es", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: timezone}); });
    var base = {paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#ddd"},
      margin: {l: 40, r: 10, t: 10, b: 40}, legend: {orientation: "h"}, xaxis: {type: "category"}};
    var volume = {data: [
      {type: "bar", name: labels.answered, x: x, y: series.map(function (r) { return r.answered; }), marker: {color: "#2ecc71"}},
      {type: "bar", name: labels.abandoned, x: x, y: series.map(function (r) { return r.abandoned; }), marker: {color: "#e74c3c"}},
      {type: "scatter", mode: "lines", name: labels.offered, x: x, y: series.map(function (r) { return r.offered; }), line: {color: "#3498db"}}],
      layout: Object.assign({barmode: "stack"}, base)};
    var sl = {data: [
      {type: "scatter", mode: "lines+markers", name: labels.sl, x: x, y: series.map(function (r) { return r.sl_pct; }), line: {color: "#f1c40f"}},
      {type: "scatter", mode: "lines", name: labels.target, x: x, y: series.map(function () { return target; }), line: {color: "#aaa", dash: "dash"}}],
      layout: Object.assign({yaxis: {range: [0, 100]}}, base)};
    return [volume, sl];
  }

  // The staffing gap now: ["3", "faltan", "short", "necesarios 14"], ["2", "sobran", "spare", …], or "—".
  function staffingText(st, labels, lang) {
    if (!st || st.gap === null || st.gap === undefined) { return ["\u2014", labels.staffing_none, "none", ""]; }
    var needed = labels.needed + " " + (st.capped ? "> " : "") + fmt(lang, st.needed, 0);
    if (st.gap > 0) { return [fmt(lang, st.gap, 0), labels.missing, "short", needed]; }
    if (st.gap < 0) { return [fmt(lang, -st.gap, 0), labels.spare, "spare", needed]; }
    return ["0", labels.exact, "exact", needed];
  }
  window.wallboardStaffingText = staffingText;

  // "SL 80/20 · respondidas", or "SL mixto" where the queues' formulas or thresholds differ.
  function slCaption(block, labels, lang) {
    if (block.sl_mixed) { return labels["formula.mixed"]; }
    var target = block.sl_target_pct === null || block.sl_target_pct === undefined ? "" : fmt(lang, block.sl_target_pct, 0);
    return "SL " + target + "/" + block.sl_threshold_s + " \u00B7 " + labels["formula." + block.sl_formula];
  }

  function renderManager(seq, trendQueue, page) {
    var labels = page.labels, lang = page.lang, view = currentView();
    if (!view || !view.queues) { return [h("div", {className: "wb-waiting-data"}, labels.connecting), {}, {}]; }
    var head = h("tr", {}, [labels.queue, labels.waiting, labels.longest, labels.sl, labels.abandon, labels.asa, labels.aht,
      labels.available, labels.on_call, labels.wrap_up, labels.not_ready, labels.staffing].map(function (t) { return h("th", {}, t); }));
    function staffingCell(st) {
      var text = staffingText(st, labels, lang);
      return h("td", {className: "wb-n wb-staffing-" + text[2]}, text[2] === "none" ? "\u2014" : text[0] + " " + text[1] + " (" + text[3] + ")");
    }
    function row(id, d, name) {
      var th = page.thresholds[id] || page.thresholds.centre, t = d.today, a = d.agents || {};
      var sl = t.sl ? t.sl.pct : null;
      function cell(text, lvl) { return h("td", {className: "wb-n wb-level-" + lvl}, [lvl === "none" || lvl === "ok" ? "" : ICON[lvl] + " ", text]); }
      return h("tr", {id: "wb-row-" + id}, [
        h("td", {className: "wb-queue-name"}, name),
        cell(fmt(lang, d.waiting, 0), level(d.waiting, th.waiting)),
        h("td", {className: "wb-n wb-ticking", "data-since": d.oldest_since === null ? "" : d.oldest_since}, d.oldest_since === null ? "\u2014" : secs(d.longest_wait_s)),
        cell(pct(lang, sl), level(sl, th.service_level_pct)),
        cell(pct(lang, t.abandon_rate_pct), level(t.abandon_rate_pct, th.abandon_rate_pct)),
        cell(secs(t.asa_s), level(t.asa_s, th.asa_s)),
        cell(secs(t.aht_s), level(t.aht_s, th.aht_s)),
        h("td", {className: "wb-n"}, fmt(lang, a.available || 0, 0)),
        h("td", {className: "wb-n"}, fmt(lang, (a.on_call || 0) + (a.on_hold || 0) + (a.ringing || 0), 0)),
        h("td", {className: "wb-n"}, fmt(lang, a.wrap_up || 0, 0)),
        h("td", {className: "wb-n"}, fmt(lang, a.not_ready || 0, 0)),
        staffingCell(d.staffing)
      ]);
    }
    var rows = Object.keys(view.queues).map(function (q) { return row(q, view.queues[q], view.queues[q].name); });
    if (view.centre && view.centre.today) { rows.push(row("centre", view.centre, labels.centre)); }
    var selected = trendQueue === "centre" || !view.queues[trendQueue] ? view.centre : view.queues[trendQueue];
    var series = (selected || {}).intervals || [];
    var figs = trendFigures(series, (selected || {}).sl_target_pct || 80, labels, page.timezone);
    return [[
      h("div", {className: "wb-header"}, [h("div", {className: "wb-title"}, labels.manager), h("div", {className: "wb-clock", "data-clock": "1"}, window.wallboardClock())]),
      h("table", {className: "wb-grid table table-sm", id: "wb-queue-table"}, [h("thead", {}, head), h("tbody", {}, rows)])
    ], figs[0], figs[1]];
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wallboard = {renderTeam: renderTeam, renderManager: renderManager};
  window.wallboardRenderWall = renderWall;  // called by assets/wallboard.js for each message, outside Dash
})();
