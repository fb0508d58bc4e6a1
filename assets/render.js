/* wallboard: clientside renderers, one per view, in the dash_clientside.wallboard namespace.
 * Each takes the view from the store (see wallboard/messages.py) and the page config,
 * and returns Dash components as JSON. Times that tick carry data-since (epoch s);
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

  function fmt(lang, value, digits) {
    if (value === null || value === undefined) { return "\u2014"; }
    try { return new Intl.NumberFormat(lang, {maximumFractionDigits: digits, minimumFractionDigits: digits}).format(value); }
    catch (e) { return value.toFixed(digits); }
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

  function gauge(value, target, lvl) {
    var colour = {ok: "#2ecc71", warn: "#f1c40f", alert: "#e74c3c", none: "#7f8c8d"}[lvl];
    return {
      data: [{type: "indicator", mode: "gauge", value: value === null ? 0 : value,
        number: {font: {size: 1, color: "rgba(0,0,0,0)"}},
        gauge: {axis: {range: [0, 100], tickcolor: "#aaa", tickfont: {color: "#ccc", size: 14}},
          bar: {color: colour, thickness: 0.35}, bgcolor: "#222", borderwidth: 0,
          steps: [{range: [0, target], color: "#2b2b2b"}, {range: [target, 100], color: "#1f3326"}],
          threshold: {line: {color: "#ffffff", width: 5}, thickness: 0.9, value: target}}}],
      layout: {paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", margin: {l: 30, r: 30, t: 10, b: 0},
        autosize: true, font: {color: "#eee"}}
    };
  }

  function renderWall(view, rotationIndex, page) {
    var labels = page.labels, lang = page.lang;
    var rot = page.rotation[(rotationIndex || 0) % page.rotation.length];
    var sc = view && view.screens ? view.screens[rot.id] : null;
    if (!sc) {
      return [h("div", {className: "wb-waiting-data"}, labels.connecting), [], labels.sl, "", "wb-tile wb-tile-sl", [], [],
        gauge(null, 80, "none")];
    }
    var th = rot.thresholds, today = sc.today;
    var sl = today.service_level_pct[sc.sl_formula];
    var slLevel = level(sl, th.service_level_pct);
    var wait = th.longest_wait_s;
    var ticker = view.ticker ? (view.ticker[rot.id] || view.ticker["*"] || "") : "";
    var longest = h("div", {className: "wb-num wb-ticking", id: "wb-longest", "data-since": sc.oldest_since === null ? "" : sc.oldest_since,
      "data-steps": JSON.stringify([wait.warn, wait.alert])}, sc.oldest_since === null ? "\u2014" : secs(sc.longest_wait_s));
    var head = h("div", {className: "wb-header"}, [
      h("div", {className: "wb-title", id: "wb-title"}, sc.title || rot.title),
      h("div", {className: "wb-clock", "data-clock": "1"}, window.wallboardClock())
    ]);
    var left = [
      tile(labels.waiting, num(fmt(lang, sc.waiting, 0), "wb-waiting"), level(sc.waiting, th.waiting), labels),
      tile(labels.longest, longest, level(sc.longest_wait_s, th.longest_wait_s), labels, {"data-escalate": "1"})
    ];
    var slHead = h("div", {className: "wb-label"}, labels.sl);
    var slFoot = [
      h("div", {className: "wb-num wb-sl-number", id: "wb-sl"}, pct(lang, sl)),
      h("div", {className: "wb-sl-caption", id: "wb-sl-caption"}, "SL " + fmt(lang, sc.sl_target_pct, 0) + "/" + sc.sl_threshold_s
        + " \u00B7 " + labels["formula." + sc.sl_formula] + " \u00B7 " + labels.today),
      cue(slLevel, labels)
    ];
    var right = [
      tile(labels.abandon, num(pct(lang, today.abandon_rate_pct), "wb-abandon"), level(today.abandon_rate_pct, th.abandon_rate_pct), labels),
      tile(labels.asa, num(secs(today.asa_s), "wb-asa"), level(today.asa_s, th.asa_s), labels)
    ];
    var foot = [
      agentsRow(sc.agents, labels, lang),
      h("div", {className: "wb-ticker" + (ticker ? "" : " wb-hidden"), id: "wb-ticker"}, h("span", {}, ticker))
    ];
    return [head, left, slHead, slFoot, "wb-tile wb-tile-sl wb-level-" + slLevel, right, foot, gauge(sl, sc.sl_target_pct, slLevel)];
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

  function renderTeam(view, sort, filter, page) {
    var labels = page.labels, lang = page.lang;
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
      return h("div", {className: "wb-kpi"}, [h("span", {}, d.name), h("b", {}, fmt(lang, d.waiting, 0) + " \u00B7 "),
        h("b", {className: "wb-ticking", "data-since": d.oldest_since === null ? "" : d.oldest_since}, d.oldest_since === null ? "\u2014" : secs(d.longest_wait_s))]);
    });
    var head = h("tr", {}, [labels.agent, labels.state, labels.reason, labels.time, labels.calls, labels.aht, labels.paused]
      .map(function (t) { return h("th", {}, t); }));
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
      {type: "scatter", mode: "lines+markers", name: labels.sl, x: x, y: series.map(function (r) { return r.service_level_pct[r.formula]; }), line: {color: "#f1c40f"}},
      {type: "scatter", mode: "lines", name: labels.target, x: x, y: series.map(function () { return target; }), line: {color: "#aaa", dash: "dash"}}],
      layout: Object.assign({yaxis: {range: [0, 100]}}, base)};
    return [volume, sl];
  }

  function renderManager(view, trendQueue, page) {
    var labels = page.labels, lang = page.lang;
    if (!view || !view.queues) { return [h("div", {className: "wb-waiting-data"}, labels.connecting), {}, {}]; }
    var head = h("tr", {}, [labels.queue, labels.waiting, labels.longest, labels.sl, labels.abandon, labels.asa, labels.aht,
      labels.available, labels.on_call, labels.wrap_up, labels.not_ready].map(function (t) { return h("th", {}, t); }));
    function row(id, d, name) {
      var th = page.thresholds[id] || page.thresholds.centre, t = d.today, a = d.agents || {};
      var sl = t.service_level_pct[d.sl_formula];
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
        h("td", {className: "wb-n"}, fmt(lang, a.not_ready || 0, 0))
      ]);
    }
    var rows = Object.keys(view.queues).map(function (q) { return row(q, view.queues[q], view.queues[q].name); });
    if (view.centre && view.centre.today) { rows.push(row("centre", view.centre, labels.centre)); }
    var selected = trendQueue === "centre" || !view.queues[trendQueue] ? view.centre : view.queues[trendQueue];
    var series = ((selected || {}).intervals || []).map(function (r) { r.formula = selected.sl_formula; return r; });
    var figs = trendFigures(series, (selected || {}).sl_target_pct || 80, labels, page.timezone);
    return [[
      h("div", {className: "wb-header"}, [h("div", {className: "wb-title"}, labels.manager), h("div", {className: "wb-clock", "data-clock": "1"}, window.wallboardClock())]),
      h("table", {className: "wb-grid table table-sm", id: "wb-queue-table"}, [h("thead", {}, head), h("tbody", {}, rows)])
    ], figs[0], figs[1]];
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wallboard = {renderWall: renderWall, renderTeam: renderTeam, renderManager: renderManager};
})();
