/* The HTML report: draws the sections of a finished run from the page's JSON island with gradual.js. */
(function () {
  "use strict";
  var G = window.Gradual, data = JSON.parse(document.getElementById("gradual-data").textContent);
  var root = document.getElementById("sections");
  G.clear(root);

  function cards() {
    var t = data.totals, box = document.getElementById("cards"), lat = t.count ? (t.latency_ms || {}) : {};
    var share = t.count ? (t.failures / t.count * 100).toFixed(2) + "% of requests" : "no requests";
    G.cards(box, [
      ["Requests", G.count(t.count), G.count(t.interrupted) + " interrupted"],
      ["Failures", G.count(t.failures), share, t.failures > 0],
      ["Throughput", G.rate(t.rps), "req/s over the phases"],
      ["Data", G.bytes(t.bytes), "received"],
      ["Mean", G.ms(lat.mean), "ms"], ["p50", G.ms(lat.p50), "ms"], ["p95", G.ms(lat.p95), "ms"],
      ["p99", G.ms(lat.p99), "ms"], ["Max", G.ms(lat.max), "ms"]]);
    var hosts = document.getElementById("hosts");
    if (data.run.hosts.length) hosts.textContent = "target " + data.run.hosts.join(", ");
  }

  function thresholds() {
    var s = G.section(root, "thresholds", "Thresholds");
    if (!data.thresholds.length) G.empty(s, "No thresholds configured.");
    else G.thresholdsTable(s, data.thresholds);
  }

  function plan() {
    var s = G.section(root, "plan", "Plan");
    if (!data.plan.length) G.empty(s, "No plan recorded.");
    else G.planList(s, data.plan);
  }

  var charts = [], dist = null;
  function overTime() {
    var s = G.section(root, "charts", "Over time");
    var selector = G.viewBar(s, function (view) {
      charts.forEach(function (c) { c.set(data.chart, view); });
      dist.set(data.dist, view);
    });
    selector.update(data.requests);
    charts = G.timeCharts(s, ["Running users per scenario; the total in black",
                              "Completed requests per second; failures/s in red",
                              "p50 dotted · p95 dashed · p99 solid"]);
    dist = new G.DistChart(G.chartFigure(s, "histogram", "Latency distribution",
                                         "share of each series' requests per latency bucket; all requests in grey"));
    charts.forEach(function (c) { c.set(data.chart); });
    dist.set(data.dist);
  }

  function requests() {
    var s = G.section(root, "requests", "Requests");
    G.requestTable(s, data.rows);
    G.html("p", "note", "Latency in milliseconds. Req/s is over the phase's duration; within expected is the " +
           "share of completed requests within the request's expected_response_time.", s);
  }

  function errors() {
    var s = G.section(root, "errors", "Errors");
    if (!data.errors.length) G.empty(s, "No errors.");
    else G.errorsTable(s, data.errors);
  }

  function workers() {
    var s = G.section(root, "workers", "Workers");
    if (!data.workers.length) G.empty(s, "No workers recorded.");
    else G.workersTable(s, data.workers, false);
  }

  cards();
  thresholds();
  plan();
  overTime();
  requests();
  errors();
  workers();
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { charts.forEach(function (c) { c.draw(); }); dist.draw(); }, 150);
  });
  document.body.setAttribute("data-width", String(document.documentElement.scrollWidth));
  document.body.setAttribute("data-rendered", "1");
})();
