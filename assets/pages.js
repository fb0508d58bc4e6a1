/* wallboard: the team and manager pages, as Dash clientside callbacks (namespace
 * dash_clientside.wallboard). Each takes the view's seq from the page's store (the view itself
 * is wallboard.view(), see wallboard.js), the page's controls and its config, and returns Dash
 * components as JSON: html elements with Bootstrap's classes and dash-bootstrap-components
 * tables, which the vendored Slate theme and wallboard.css style. Formats, levels and captions
 * are the tiles' (assets/tiles.js); times that tick carry data-since (epoch s) and wallboard.js
 * updates them every second. The manager's CSV of today's intervals is built here too.
 */
(function () {
  "use strict";
  var wb = window.wallboard = window.wallboard || {};
  var STATES = ["available", "ringing", "on_call", "on_hold", "wrap_up", "not_ready", "logged_out"];
  var DASH = "\u2014", DOT = " \u00B7 ";
  // The alert log's metrics (wallboard/alerts.py): their label and how their value is written.
  var ALERT_METRICS = {waiting: ["waiting", "count"], longest_wait_s: ["longest", "duration"],
    service_level_pct: ["sl", "pct"], abandon_rate_pct: ["abandon", "pct"], asa_s: ["asa", "duration"]};

  function fmt(lang, value, digits) { return wb.fmt(lang, value, digits); }
  function pct(lang, value) { return wb.pct(lang, value); }
  function secs(value) { return wb.secs(value); }
  function level(value, th) { return wb.level(value, th); }
  function currentView() { return wb.view ? wb.view() : null; }

  function component(namespace, type, props, children) {
    var p = {};
    for (var k in props || {}) { p[k] = props[k]; }
    if (children !== undefined) { p.children = children; }
    return {type: type, namespace: namespace, props: p};
  }
  // Dash names html components like the tags, capitalised: Div, Span, Table, Tr, Td, …
  function h(tag, props, children) { return component("dash_html_components", tag.charAt(0).toUpperCase() + tag.slice(1), props, children); }
  function table(props, head, body) {  // a dbc.Table
    return component("dash_bootstrap_components", "Table", props, [h("thead", {}, head), h("tbody", {}, body)]);
  }

  function windowLabel(win, labels) {
    if (win === "now" || win === "today" || win === "interval") { return labels[win]; }
    return labels.last_n.replace("{n}", win);
  }
  function shortestWindow(view) {
    var ws = (view.windows || []).slice().sort(function (a, b) { return a - b; });
    return ws.length ? String(ws[0]) : null;
  }
  function target(block, lang) {
    return block.sl_target_pct === null || block.sl_target_pct === undefined ? DASH : fmt(lang, block.sl_target_pct, 0) + "\u202F%";
  }

  // A figure in its level's colour, with its icon (✓ ▲ ✖) and its word as the title.
  function levelled(tag, className, text, lvl, labels) {
    var cue = lvl === "ok" || lvl === "warn" || lvl === "alert";
    return h(tag, {className: className + " wb-level-" + lvl, title: cue ? labels[lvl] : undefined},
      cue ? [h("span", {className: "wb-icon"}, wb.ICON[lvl]), " ", text] : text);
  }
  // The longest wait, ticking (wallboard.js rewrites the inner span's text every second).
  function longest(tag, className, block, th, labels) {
    var since = block.oldest_since === null || block.oldest_since === undefined ? "" : block.oldest_since;
    var lvl = level(block.longest_wait_s, th), cue = lvl === "warn" || lvl === "alert" || lvl === "ok";
    var time = h("span", {className: "wb-ticking", "data-since": since}, since === "" ? DASH : secs(block.longest_wait_s));
    return h(tag, {className: className + " wb-level-" + lvl, title: cue ? labels[lvl] : undefined},
      cue ? [h("span", {className: "wb-icon"}, wb.ICON[lvl]), " ", time] : time);
  }
  // "3 faltan (necesarios 14)", "2 sobran (…)", "0 justos (…)", or "—".
  function staffing(st, labels, lang) {
    var t = wb.staffingText(st, labels, lang);
    return {text: t[2] === "none" ? DASH : t[0] + " " + t[1] + " (" + t[3] + ")", kind: t[2]};
  }

  function agentsRow(agents, labels, lang) {
    var a = agents || {};
    var counts = [["available", a.available], ["on_call", (a.on_call || 0) + (a.on_hold || 0) + (a.ringing || 0)],
      ["wrap_up", a.wrap_up], ["not_ready", a.not_ready]];
    return h("div", {className: "wb-agents"}, counts.map(function (c) {
      return h("div", {className: "wb-agent-count wb-state-" + c[0]}, [h("span", {className: "wb-num"}, fmt(lang, c[1] || 0, 0)), h("span", {}, labels[c[0]])]);
    }));
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

  /* ---- the team page */
  function kpi(label, win, value, extra) {
    return h("div", {className: "wb-kpi"}, [h("div", {className: "wb-kpi-label"}, [label, h("span", {className: "wb-window"}, win)]),
      h("b", extra || {}, value)]);
  }
  function queueCard(id, d, page, view) {
    var labels = page.labels, lang = page.lang, th = (page.thresholds.queues || {})[id] || {};
    var st = staffing(d.staffing, labels, lang), sl = d.today && d.today.sl ? d.today.sl.pct : null;
    function fig(label, win, node) { return h("div", {className: "wb-qfig"}, [h("div", {className: "wb-kpi-label"}, [label, h("span", {className: "wb-window"}, win)]), node]); }
    return h("div", {className: "wb-queue-card card", id: page.parts.row + id}, [
      h("div", {className: "wb-queue-head"}, [h("b", {}, d.name), h("span", {className: "wb-row-rule"}, wb.slCaption(d, labels, lang))]),
      h("div", {className: "wb-qfigs"}, [
        fig(labels.waiting, labels.now, levelled("b", "wb-q-waiting", fmt(lang, d.waiting, 0), level(d.waiting, th.waiting), labels)),
        fig(labels.longest, labels.now, longest("b", "wb-q-longest", d, th.longest_wait_s, labels)),
        fig(labels.sl, labels.today, levelled("b", "wb-q-sl", pct(lang, sl),
          d.today && d.today.sl && d.today.sl.denominator >= page.min_calls ? level(sl, th.service_level_pct) : "none", labels)),
        fig(labels.staffing, labels.now, h("b", {className: "wb-q-staffing wb-staffing-" + st.kind}, st.text))
      ])
    ]);
  }

  function renderTeam(seq, sort, filter, page) {  // seq: the store holds only the view's seq (see wallboard.js)
    var labels = page.labels, lang = page.lang, view = currentView();
    if (!view || !view.team) { return [h("div", {className: "wb-waiting-data"}, labels.connecting), null]; }
    var team = view.team, work = team.today || {}, th = page.thresholds;
    var needle = (filter || "").toLowerCase();
    var rows = Object.keys(view.agents || {}).map(function (id) { var a = view.agents[id]; a.id = id; return a; }).filter(function (a) {
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
    var aht = level(work.aht_s, th.aht_s), occ = level(work.occupancy_pct, th.occupancy_pct);
    var kpis = h("div", {className: "wb-team-kpis", "data-seq": seq}, [
      kpi(labels.handled, labels.today, fmt(lang, work.handled || 0, 0), {id: page.parts.team_handled}),
      kpi(labels.aht, labels.today, levelled("span", "", secs(work.aht_s), aht, labels)),
      kpi(labels.asa, labels.today, secs(work.asa_s)),
      kpi(labels.occupancy, labels.today, levelled("span", "", pct(lang, work.occupancy_pct), occ, labels)),
      kpi(labels.paused, "", secs(work.paused_s))  // (its label says "today")
    ]);
    var queues = Object.keys(view.queues || {}).map(function (q) { return queueCard(q, view.queues[q], page, view); });
    // Headers of number columns sit over their right-aligned numbers.
    var head = h("tr", {}, [labels.agent, labels.state, labels.reason, labels.time, labels.calls, labels.aht, labels.paused]
      .map(function (t, i) { return h("th", i >= 3 ? {className: "wb-n"} : {}, t); }));
    var body = rows.map(function (a) {
      var reason = a.reason ? ((page.pause_reasons[a.reason] || {}).name || a.reason) : "";
      var since = a.state === "logged_out" ? "" : a.since;
      return h("tr", {className: "wb-agent-row wb-state-" + a.state, "data-escalate": "1", "data-level": "0", id: "wb-agent-" + a.id.replace(/[^A-Za-z0-9_-]/g, "_")}, [
        h("td", {className: "wb-agent-name"}, a.name),
        h("td", {className: "wb-agent-state"}, labels["state." + a.state] || a.state),
        h("td", {}, reason),
        h("td", {className: "wb-n wb-ticking", "data-since": since, "data-steps": JSON.stringify(stateSteps(a, page))}, since === "" ? DASH : secs(now - a.since)),
        h("td", {className: "wb-n"}, fmt(lang, a.today.handled, 0)),
        h("td", {className: "wb-n"}, secs(a.today.aht_s)),
        h("td", {className: "wb-n"}, secs(a.today.paused_s))
      ]);
    });
    return [
      [kpis, agentsRow(team.agents, labels, lang), h("div", {className: "wb-team-queues"}, queues)],
      table({id: page.parts.agent_grid, size: "sm", hover: true, class_name: "wb-grid"}, [head], body)
    ];
  }

  /* ---- the manager page */
  function trendFigures(series, target, labels, timezone) {
    var x = series.map(function (r) { return new Date(r.start * 1000).toLocaleTimeString("es", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: timezone}); });
    var axis = {type: "category", showgrid: false, tickangle: 0, dtick: Math.max(1, Math.ceil(x.length / 12)), color: "#9aa4ae"};
    var base = {paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#dde2e7"}, height: 250,
      margin: {l: 40, r: 10, t: 30, b: 30}, legend: {orientation: "h", x: 0, y: 1.18}, xaxis: axis};
    var volume = {data: [
      {type: "bar", name: labels.answered, x: x, y: series.map(function (r) { return r.answered; }), marker: {color: "#2ecc71"}},
      {type: "bar", name: labels.abandoned, x: x, y: series.map(function (r) { return r.abandoned; }), marker: {color: "#e74c3c"}},
      {type: "scatter", mode: "lines", name: labels.offered, x: x, y: series.map(function (r) { return r.offered; }), line: {color: "#5dade2"}}],
      layout: Object.assign({barmode: "stack", yaxis: {gridcolor: "#2a3038"}}, base)};
    var sl = [{type: "scatter", mode: "lines+markers", name: labels.sl, x: x, y: series.map(function (r) { return r.sl_pct; }), line: {color: "#f1c40f"}}];
    if (target !== null && target !== undefined) {  // none where the queues' targets differ
      sl.push({type: "scatter", mode: "lines", name: labels.target, x: x, y: series.map(function () { return target; }), line: {color: "#aaa", dash: "dash"}});
    }
    return [volume, {data: sl, layout: Object.assign({yaxis: {range: [0, 105], gridcolor: "#2a3038"}}, base)}];
  }

  function queueHead(labels, win) {
    var last = windowLabel(win, labels);
    function th(text, attrs) { var p = attrs || {}; return h("th", p, text); }
    function sub(text) { return h("th", {className: "wb-n wb-sub"}, text); }
    return [
      h("tr", {className: "wb-groups"}, [
        th(labels.queue, {rowSpan: 2, className: "wb-queue-name"}), th(labels.waiting, {className: "wb-n"}), th(labels.longest, {className: "wb-n"}),
        th(labels.sl, {colSpan: 3}), th(labels.abandon, {colSpan: 2}), th(labels.asa, {className: "wb-n"}),
        th(labels.counts + DOT + labels.today, {colSpan: 2}), th(labels.agents + DOT + labels.now, {colSpan: 5})]),
      h("tr", {}, [sub(labels.now), sub(labels.now), sub(last), sub(labels.today), sub(labels.target), sub(last), sub(labels.today),
        sub(labels.today), sub(labels.answered_n), sub(labels.abandoned_n), sub(labels.available), sub(labels.on_call),
        sub(labels.wrap_up), sub(labels.not_ready), sub(labels.for_target)])
    ];
  }

  function queueRow(id, d, name, page, win) {
    var labels = page.labels, lang = page.lang, th = page.thresholds[id] || page.thresholds.centre;
    var t = d.today || {}, w = (d.windows || {})[win] || {}, a = d.agents || {}, st = staffing(d.staffing, labels, lang);
    var slNow = w.sl ? w.sl.pct : null, slToday = t.sl ? t.sl.pct : null;
    // a rate of fewer than page.min_calls calls is shown but not coloured (as on the TV and in the alert log)
    function cell(value, text, metric, calls) {
      var lvl = calls !== undefined && !(calls >= page.min_calls) ? "none" : level(value, th[metric]);
      return levelled("td", "wb-n", text, lvl, labels);
    }
    function plain(text, extra) { return h("td", {className: "wb-n" + (extra || "")}, text); }
    return h("tr", {id: page.parts.row + id, className: id === "centre" ? "wb-centre-row" : ""}, [
      h("td", {className: "wb-queue-name"}, [h("div", {}, name), h("div", {className: "wb-row-rule"}, wb.slCaption(d, labels, lang))]),
      cell(d.waiting, fmt(lang, d.waiting, 0), "waiting"),
      longest("td", "wb-n", d, th.longest_wait_s, labels),
      cell(slNow, pct(lang, slNow), "service_level_pct", w.sl ? w.sl.denominator : 0),
      cell(slToday, pct(lang, slToday), "service_level_pct", t.sl ? t.sl.denominator : 0),
      plain(target(d, lang), " wb-muted"),
      cell(w.abandon_rate_pct, pct(lang, w.abandon_rate_pct), "abandon_rate_pct", w.offered || 0),
      cell(t.abandon_rate_pct, pct(lang, t.abandon_rate_pct), "abandon_rate_pct", t.offered || 0),
      cell(t.asa_s, secs(t.asa_s), "asa_s", t.answered || 0),
      plain(fmt(lang, t.answered, 0)), plain(fmt(lang, t.abandoned, 0)),
      plain(fmt(lang, a.available || 0, 0)), plain(fmt(lang, (a.on_call || 0) + (a.on_hold || 0) + (a.ringing || 0), 0)),
      plain(fmt(lang, a.wrap_up || 0, 0)), plain(fmt(lang, a.not_ready || 0, 0)),
      plain(st.text, " wb-staffing wb-staffing-" + st.kind)
    ]);
  }

  var clockFormats = {};
  function formatter(key, lang, opts) {
    try { return clockFormats[key] || (clockFormats[key] = new Intl.DateTimeFormat(lang, opts)); } catch (e) { return null; }
  }
  function timeOf(at, page) {  // "10:42:07", in the centre's time zone
    var f = formatter("t" + page.lang, page.lang, {hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: page.timezone});
    return f ? f.format(new Date(at * 1000)) : new Date(at * 1000).toISOString().slice(11, 19);
  }
  function stampOf(at, page) {  // "2026-03-10 09:15", in the centre's time zone
    var f = formatter("s", "en-GB", {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: page.timezone});
    var p = {};
    if (!f) { return new Date(at * 1000).toISOString().slice(0, 16).replace("T", " "); }
    f.formatToParts(new Date(at * 1000)).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function alertValue(kind, value, lang) {
    if (kind === "pct") { return pct(lang, value); }
    if (kind === "duration") { return secs(value); }
    return fmt(lang, value, 0);
  }
  // Today's crossings, newest first (wallboard/alerts.py): time, whose, what, over which window, the value.
  function renderAlerts(view, page) {
    var labels = page.labels, lang = page.lang, start = view.day_start || 0;
    var entries = (view.alerts || []).filter(function (e) { return e.at >= start; });
    if (!entries.length) { return h("p", {className: "wb-no-alerts"}, labels.no_alerts); }
    var head = h("tr", {}, [h("th", {className: "wb-n"}, labels.clock_time), h("th", {}, labels.queue), h("th", {}, labels.metric),
      h("th", {className: "wb-n"}, labels.value), h("th", {}, labels.state)]);
    var rows = entries.map(function (e) {
      var m = ALERT_METRICS[e.metric] || [e.metric, "count"], cleared = e.level === "cleared";
      var name = e.scope === "centre" ? labels.centre : (view.queues[e.id] || {}).name || e.id;
      return h("tr", {className: "wb-alert-entry wb-alert-" + e.level}, [
        h("td", {className: "wb-n wb-alert-at"}, timeOf(e.at, page)),
        h("td", {className: "wb-alert-queue"}, name),
        h("td", {className: "wb-alert-metric"}, [labels[m[0]] || m[0], h("span", {className: "wb-window"}, windowLabel(e.window, labels))]),
        h("td", {className: "wb-n wb-alert-value", title: labels.threshold + " " + alertValue(m[1], e.alert, lang)}, alertValue(m[1], e.value, lang)),
        h("td", {className: "wb-alert-level"}, h("span", {className: "badge " + (cleared ? "text-bg-success" : "text-bg-danger")},
          (cleared ? wb.ICON.ok + " " + labels.cleared : wb.ICON.alert + " " + labels.alert)))
      ]);
    });
    return table({size: "sm", class_name: "wb-grid wb-alert-table mb-0"}, [head], rows);
  }

  function renderManager(seq, trendQueue, page) {
    var labels = page.labels, view = currentView(), none = window.dash_clientside.no_update;
    if (!view || !view.queues) { return [h("div", {className: "wb-waiting-data"}, labels.connecting), none, none, none]; }
    var win = shortestWindow(view);
    var rows = Object.keys(view.queues).map(function (q) { return queueRow(q, view.queues[q], view.queues[q].name, page, win); });
    if (view.centre && view.centre.today) { rows.push(queueRow("centre", view.centre, labels.centre, page, win)); }
    var selected = trendQueue === "centre" || !view.queues[trendQueue] ? view.centre : view.queues[trendQueue];
    var figs = trendFigures((selected || {}).intervals || [], (selected || {}).sl_target_pct, labels, page.timezone);
    var grid = table({id: page.parts.queue_table, size: "sm", hover: true, responsive: true, class_name: "wb-grid wb-queue-table mb-0"},
      queueHead(labels, win), rows);
    return [h("div", {className: "wb-card card", "data-seq": seq}, grid), figs[0], figs[1], renderAlerts(view, page)];
  }

  /* ---- the CSV of today's intervals (RFC 4180: comma-separated, quoted where needed, CRLF;
   * UTF-8 with a byte-order mark so that spreadsheets read the accents) */
  function csvField(value) {
    var text = value === null || value === undefined ? "" : String(value);
    return /[",\r\n]/.test(text) ? "\"" + text.replace(/"/g, "\"\"") + "\"" : text;
  }
  function intervalsCsv(clicks, queue, page) {
    var labels = page.labels, view = currentView();
    if (!clicks || !view || !view.queues) { return window.dash_clientside.no_update; }
    var id = queue !== "centre" && view.queues[queue] ? queue : "centre";
    var block = id === "centre" ? view.centre : view.queues[id], name = id === "centre" ? labels.centre : block.name;
    var lines = [[labels.queue, labels.start, labels.offered, labels.answered, labels.abandoned, labels.other_exits,
      labels.sl + " % (" + wb.slCaption(block, labels, page.lang) + ")", labels.asa + " (s)", labels.aht + " (s)"]];
    (block.intervals || []).forEach(function (r) {
      lines.push([name, stampOf(r.start, page), r.offered, r.answered, r.abandoned, r.other_exits, r.sl_pct, r.asa_s, r.aht_s]);
    });
    var text = lines.map(function (l) { return l.map(csvField).join(","); }).join("\r\n") + "\r\n";
    var day = stampOf(view.day_start || Date.now() / 1000, page).slice(0, 10);
    return {content: "\uFEFF" + text, filename: labels.csv_file + "-" + id.replace(/[^A-Za-z0-9_.-]/g, "_") + "-" + day + ".csv",
      type: "text/csv;charset=utf-8", base64: false};
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wallboard = {renderTeam: renderTeam, renderManager: renderManager, intervalsCsv: intervalsCsv};
})();
