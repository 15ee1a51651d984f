/* The master's live dashboard: the history so far, then a frame a second, from /events (Server-Sent
 * Events); charts and tables are gradual.js's, the same code the HTML report runs. */
(function () {
  "use strict";
  var G = window.Gradual, $ = function (id) { return document.getElementById(id); };
  var root = $("sections");
  G.clear(root);
  var run = null, plan = [], series = {}, order = [], latest = null, ended = null, view = "scenarios", frames = 0;
  var workers = [];  // a big cluster's frames carry the workers table only every few seconds
  var RPS_AT = 3;

  // -- layout ------------------------------------------------------------------------------------
  var planBox = G.section(root, "plan", "Plan");
  var chartsBox = G.section(root, "charts", "Over time");
  var selector = G.viewBar(chartsBox, function (v) { view = v; drawCharts(); });
  var charts = G.timeCharts(G.html("div", "grid2", null, chartsBox),
                            ["running users per scenario; the total in black",
                             "completed requests per second; failures/s in red",
                             "p50 dotted · p95 dashed · p99 solid, per second"]);
  var tableBox = G.section(root, "requests", "Requests");
  var tableInner = G.html("div", "", null, tableBox);
  var thresholdsBox = G.html("div", "", null, G.section(root, "thresholds", "Thresholds"));
  var workersBox = G.html("div", "", null, G.section(root, "workers", "Workers"));
  var errorsBox = G.html("div", "", null, G.section(root, "errors", "Latest errors"));

  // -- the model -----------------------------------------------------------------------------------
  function addSeries(defs) {
    defs.forEach(function (d) {
      if (series[d.id]) return;
      series[d.id] = {group: d.group, phase: d.phase, scenario: d.scenario, label: d.label, points: []};
      order.push(d.id);
    });
  }
  function addPoints(points) {
    // [id, x, t, users, count, failures, window_s, p50, p95, p99] -> the charts' [x, t, users, rps, fps, p50, p95, p99]
    points.forEach(function (p) {
      var s = series[p[0]];
      if (!s) return;
      var w = p[6] > 0 ? p[6] : 1, point = [p[1], p[2], p[3], p[4] / w, p[5] / w, p[7], p[8], p[9]];
      // A second sent again (a late batch changed it) replaces the earlier point; it is one of the last few.
      for (var i = s.points.length - 1; i >= 0 && i >= s.points.length - 8; i--) {
        if (s.points[i][1] === p[2]) { s.points[i] = point; return; }
      }
      s.points.push(point);
    });
  }
  function plannedPhases() {
    // Started phases where they ran; the ones ahead where the plan puts them.
    var out = [], started = latest ? latest.phases : [], wait = run ? run.wait_between_phases || 0 : 0;
    var cursor = 0;
    plan.forEach(function (p, i) {
      var s = started[i];
      if (s) { out.push({name: s.name, start: s.start, end: s.end}); cursor = s.done ? s.end : s.start + p.run_time; }
      else { var start = cursor + (i ? wait : 0); out.push({name: p.name, start: start, end: start + p.run_time, ahead: true}); cursor = start + p.run_time; }
    });
    return out;
  }
  function model() {
    var phases = plannedPhases(), span = phases.length ? phases[phases.length - 1].end : 0;
    if (latest) span = Math.max(span, latest.now);
    return {start: run && run.started_at, span: span, phases: phases,
            series: order.map(function (id) { return series[id]; })};
  }

  // -- drawing -------------------------------------------------------------------------------------
  function drawCharts() {
    var m = model();
    charts.forEach(function (c) { c.set(m, view); });
  }
  function drawHeader() {
    if (!run) return;
    $("run-name").textContent = run.name;
    $("hosts").textContent = run.hosts.length ? "target " + run.hosts.join(", ") : "";
    var state = latest ? latest.state : "starting";
    if (!ended) {
      $("verdict").textContent = latest && latest.stopping ? "STOPPING" : state === "running" ? "RUNNING" : state.toUpperCase();
      $("verdict").className = "verdict warn";
    }
    $("state").textContent = "state: " + state;
    var total = plan.reduce(function (a, p) { return a + p.run_time; }, 0), done = 0;
    if (latest && latest.phase) {
      var ph = latest.phase, frac = ph.run_time > 0 ? Math.min(1, ph.elapsed / ph.run_time) : 1;
      $("phase-bar").style.width = (frac * 100).toFixed(1) + "%";
      $("phase-text").textContent = "phase " + ph.name + " (" + (ph.index + 1) + " of " + plan.length + ") · " +
        G.secs(Math.min(ph.elapsed, ph.run_time)) + " of " + G.secs(ph.run_time) + (ph.done ? " · done" : "");
      for (var i = 0; i < ph.index; i++) done += plan[i].run_time;
      done += Math.min(ph.elapsed, ph.run_time);
    }
    $("run-bar").style.width = (total > 0 ? Math.min(100, done / total * 100) : 0).toFixed(1) + "%";
    var ahead = latest && latest.phase ? plan.slice(latest.phase.index + 1).map(function (p) { return p.name; }) : plan.map(function (p) { return p.name; });
    $("run-text").textContent = "plan " + G.secs(done) + " of " + G.secs(total) +
      (ahead.length ? " · ahead: " + ahead.join(", ") : " · last phase");
    $("stop").disabled = !!ended || (latest && latest.stopping);
  }
  function drawPlan() {
    G.clear(planBox);
    G.html("h2", "", "Plan", planBox);
    G.planList(planBox, plan, latest && latest.phase ? latest.phase.index : -1);
  }
  function drawCards() {
    var box = $("cards");
    G.clear(box);
    var rows = latest ? latest.rows : [], total = rows.filter(function (r) { return r.total; })[0];
    if (!total) return;
    var users = 0;
    for (var k in latest.users) users += latest.users[k];
    var tot = order.map(function (id) { return series[id]; }).filter(function (s) { return s.group === "total"; });
    var last = null;
    tot.forEach(function (s) { if (s.points.length) { var p = s.points[s.points.length - 1]; if (!last || p[0] > last[0]) last = p; } });
    var lat = total.latency_ms || {};
    G.cards(box, [
      ["Users", G.count(users), "running now"], ["Req/s", last ? G.rate(last[RPS_AT]) : "–", "last complete second"],
      ["Requests", G.count(total.count), G.count(total.interrupted) + " interrupted"],
      ["Failures", G.count(total.failures), total.count ? (total.failures / total.count * 100).toFixed(2) + "%" : "", total.failures > 0],
      ["p50", G.ms(lat.p50), "ms, whole run"], ["p95", G.ms(lat.p95), "ms"], ["p99", G.ms(lat.p99), "ms"]]);
  }
  function drawTables() {
    G.clear(tableInner);
    var rows = latest ? latest.rows : [];
    if (!rows.length) G.empty(tableInner, "No requests yet.");
    else G.requestTable(tableInner, rows, {latency: ["mean", "p50", "p95", "p99", "max"], bytes: true});
    G.clear(thresholdsBox);
    if (!latest || !latest.thresholds.length) G.empty(thresholdsBox, "No thresholds configured.");
    else G.thresholdsTable(thresholdsBox, latest.thresholds);
    drawWorkers(workers);
    G.clear(errorsBox);
    if (!latest || !latest.errors.length) G.empty(errorsBox, "No errors.");
    else G.errorsTable(errorsBox, latest.errors);
  }
  function drawWorkers(workers) {
    G.clear(workersBox);
    if (!workers.length) G.empty(workersBox, "No worker connected yet.");
    else G.workersTable(workersBox, workers, true);
  }
  function drawAll() {
    drawHeader();
    drawPlan();
    drawCards();
    drawCharts();
    drawTables();
    var labels = [];
    order.forEach(function (id) { var s = series[id]; if (s.group === "request" && labels.indexOf(s.label) < 0) labels.push(s.label); });
    selector.update(labels);
    document.body.setAttribute("data-frames", String(frames));
    document.body.setAttribute("data-rendered", "1");
  }
  function showEnd(end) {
    ended = end;
    var code = end.exit_code, words = {0: ["PASSED", "pass"], 1: ["FAILED", "fail"], 2: ["ERROR", "fail"],
                                       3: ["ABORTED", "fail"], 130: ["INTERRUPTED", "warn"]};
    var w = words[code] || ["ENDED", "warn"];
    $("verdict").textContent = w[0];
    $("verdict").className = "verdict " + w[1];
    $("state").textContent = "the run ended · exit code " + code;
    var box = $("downloads");
    G.clear(box);
    [["summary.json", JSON.stringify(end.summary, null, 2), "application/json"],
     ["report.html", end.report, "text/html"]].forEach(function (d) {
      if (!d[1]) return;
      var a = G.html("a", "button download", "Download " + d[0], box);
      a.href = URL.createObjectURL(new Blob([d[1]], {type: d[2]}));
      a.download = d[0];
      box.appendChild(document.createTextNode(" "));
    });
    $("stop").disabled = true;
    link(false, "the run ended");
    document.body.setAttribute("data-ended", String(code));
  }
  function link(on, text) {
    $("live-dot").className = "live-dot" + (on ? "" : " off");
    $("link-text").textContent = text;
  }

  // -- the stream ------------------------------------------------------------------------------
  var source = new EventSource("events");
  source.addEventListener("init", function (ev) {
    var d = JSON.parse(ev.data);
    run = d.run; plan = d.plan; series = {}; order = []; latest = d.latest; frames = 0;
    if (latest && latest.workers) workers = latest.workers;
    addSeries(d.series);
    addPoints(d.points);
    link(true, "live");
    drawAll();
    if (d.ended) { showEnd(d.ended); source.close(); }
  });
  source.addEventListener("tick", function (ev) {
    var d = JSON.parse(ev.data);
    addSeries(d.series);
    addPoints(d.points);
    latest = d;
    if (d.workers) workers = d.workers;
    frames++;
    drawAll();
  });
  source.addEventListener("state", function (ev) {
    var d = JSON.parse(ev.data);
    if (!latest) { workers = d.workers; drawWorkers(workers); $("state").textContent = "state: " + d.state; }
  });
  source.addEventListener("end", function (ev) {
    showEnd(JSON.parse(ev.data));
    source.close();
  });
  source.onerror = function () { if (!ended) link(false, "reconnecting…"); };

  // The master's API token, when it has one: from the URL's fragment (#token=..., never sent to a
  // server) or asked for once the master says it needs it.
  var token = (/(?:^#|&)token=([^&]+)/.exec(window.location.hash) || [])[1] || null;
  function stop(asked) {
    var headers = {"X-Gradual-Control": "1"};
    if (token) headers.Authorization = "Bearer " + decodeURIComponent(token);
    fetch("api/stop", {method: "POST", headers: headers}).then(function (r) {
      return r.json().then(function (body) {
        if (r.status === 401 && !asked) {
          var given = window.prompt("The master's API token (printed when it started):");
          if (given) { token = encodeURIComponent(given.trim()); stop(true); return; }
        }
        $("control-msg").textContent = r.ok ? "stopping…" : "refused: " + (body.error || r.status);
        if (!r.ok) $("stop").disabled = false;
      });
    }).catch(function (e) { $("control-msg").textContent = "failed: " + e; $("stop").disabled = false; });
  }
  $("stop").addEventListener("click", function () {
    if (!window.confirm("Stop the run? The summary and reports are still written.")) return;
    $("stop").disabled = true;
    stop(false);
  });
  // The charts' model, read-only, for whoever inspects the page (the tests do).
  window.GradualLive = {model: model};
  document.body.setAttribute("data-script", "1");
})();
