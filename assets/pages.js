/* wallboard: the team and manager pages, as Dash clientside callbacks (namespace
 * dash_clientside.wallboard). Each takes the view's seq from the page's store (the view itself
 * is wallboard.view(), see wallboard.js), the page's controls and its config, and returns Dash
 * components as JSON. Formats, levels and captions are the tiles' (assets/tiles.js); times that
 * tick carry data-since (epoch s) and wallboard.js updates them every second.
 */
(function () {
  "use strict";
  var wb = window.wallboard = window.wallboard || {};
  var STATES = ["available", "ringing", "on_call", "on_hold", "wrap_up", "not_ready", "logged_out"];
  function fmt(lang, value, digits) { return wb.fmt(lang, value, digits); }
  function pct(lang, value) { return wb.pct(lang, value); }
  function secs(value) { return wb.secs(value); }
  function level(value, th) { return wb.level(value, th); }
  function staffingText(st, labels, lang) { return wb.staffingText(st, labels, lang); }

  function h(type, props, children) {
    var p = {};
    for (var k in props || {}) { p[k] = props[k]; }
    if (children !== undefined) { p.children = children; }
    // Dash names html components like the tags, capitalised: Div, Span, Table, Tr, Td, …
    return {type: type.charAt(0).toUpperCase() + type.slice(1), namespace: "dash_html_components", props: p};
  }

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

  function currentView() { return wb.view ? wb.view() : null; }

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
      h("div", {className: "wb-header"}, [h("div", {className: "wb-title"}, team.name || team.id), h("div", {className: "wb-clock", "data-clock": "1"}, wb.clock())]),
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
      function cell(text, lvl) { return h("td", {className: "wb-n wb-level-" + lvl}, [lvl === "none" || lvl === "ok" ? "" : wb.ICON[lvl] + " ", text]); }
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
      h("div", {className: "wb-header"}, [h("div", {className: "wb-title"}, labels.manager), h("div", {className: "wb-clock", "data-clock": "1"}, wb.clock())]),
      h("table", {className: "wb-grid table table-sm", id: "wb-queue-table"}, [h("thead", {}, head), h("tbody", {}, rows)])
    ], figs[0], figs[1]];
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.wallboard = {renderTeam: renderTeam, renderManager: renderManager};
})();
