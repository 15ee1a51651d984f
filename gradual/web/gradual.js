/* gradual's chart, table and formatting code, shared by the HTML report (inlined) and the live
 * dashboard (served by the master). Everything from a run (names, messages) reaches the page as DOM
 * text nodes or attribute values, never as markup. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                "#7f7f7f", "#393b79"];
  var TOTAL = "#24292f";
  var FAIL = "#cf222e";
  // A point: [x (s since the run started), t (second of its phase), users, rps, failures/s, p50, p95, p99]
  var IDX = {users: 2, rps: 3, fps: 4, p50: 5, p95: 6, p99: 7};
  var LAT = [{key: "p50", dash: "2 3", width: 1.6}, {key: "p95", dash: "6 4", width: 1.6},
             {key: "p99", dash: "", width: 2.2}];
  var SPECS = {
    users: {metrics: [{key: "users", dash: "", width: 2}], unit: "", usersOnly: true},
    rps: {metrics: [{key: "rps", dash: "", width: 2}], unit: "/s", failures: true, logToggle: true, logStart: false},
    latency: {metrics: LAT, unit: " ms", logToggle: true}
  };

  // -- DOM helpers -----------------------------------------------------------------------------
  function svgEl(tag, attrs, parent) {
    var node = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, text, parent) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // -- formatting ------------------------------------------------------------------------------
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function trim(text) { return text.replace(/\.0$/, ""); }
  function fmt(v) {
    if (!isNum(v)) return "–";
    var a = Math.abs(v);
    if (a >= 1e6) return trim((v / 1e6).toFixed(a >= 1e7 ? 0 : 1)) + "M";
    if (a >= 1e4) return trim((v / 1e3).toFixed(a >= 1e5 ? 0 : 1)) + "k";
    if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2).replace(/0+$/, "").replace(/\.$/, "");
  }
  function count(n) { return isNum(n) ? Math.round(n).toLocaleString("en-US") : "–"; }
  function rate(v) {
    return isNum(v) ? v.toLocaleString("en-US", {minimumFractionDigits: 1, maximumFractionDigits: 1}) : "–";
  }
  // Loopback latencies are fractions of a millisecond, so small values keep three decimals.
  function ms(v) {
    if (!isNum(v)) return "–";
    if (v >= 1000) return Math.round(v).toLocaleString("en-US");
    if (v >= 100) return v.toFixed(1);
    if (v >= 10) return v.toFixed(2);
    return v.toFixed(3);
  }
  function bytes(n) {
    if (!isNum(n)) return "–";
    var units = ["B", "kB", "MB", "GB", "TB"], i = 0, v = n;
    while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i ? v.toFixed(v >= 100 ? 0 : 1) : String(Math.round(v))) + " " + units[i];
  }
  function secs(v) {
    if (!isNum(v)) return "–";
    if (v < 120) return v.toFixed(1) + " s";
    var t = Math.round(v), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + "h " + pad(m) + "m " + pad(s) + "s" : m + "m " + pad(s) + "s";
  }
  function pct(ratio) { return isNum(ratio) ? (ratio * 100).toFixed(1) + "%" : "–"; }
  function withUnit(v, unit) {
    var shown = isNum(v) ? String(v) : (v === null || v === undefined ? "" : String(v));
    if (!unit) return shown;
    return unit === "%" ? shown + unit : shown + " " + unit;
  }
  function when(epochMs) {
    if (!isNum(epochMs)) return "–";
    return new Date(epochMs).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // -- scales ----------------------------------------------------------------------------------
  function niceStep(range, n) {
    var raw = range / Math.max(1, n), mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
  }
  function linearTicks(max, n) {
    if (!(max > 0)) max = 1;
    var step = niceStep(max, n), top = Math.ceil(max / step - 1e-9) * step, ticks = [];
    for (var v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v / step) * step);
    return {ticks: ticks, lo: 0, hi: top};
  }
  function logTicks(min, max) {
    var lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max)), ticks = [];
    if (hi === lo) hi = lo + 1;
    for (var e = lo; e <= hi; e++) ticks.push(Math.pow(10, e));
    return {ticks: ticks, lo: Math.pow(10, lo), hi: Math.pow(10, hi)};
  }
  function yScale(scale, useLog, top, height) {
    if (useLog) {
      var l0 = Math.log10(scale.lo), l1 = Math.log10(scale.hi);
      return function (v) { return top + height - (Math.log10(Math.max(v, scale.lo)) - l0) / (l1 - l0) * height; };
    }
    return function (v) { return top + height - (v - scale.lo) / (scale.hi - scale.lo) * height; };
  }
  function truncate(text, px) {
    var max = Math.floor(px / 6.6);
    if (max < 2) return "";
    return text.length <= max ? text : text.slice(0, max - 1) + "…";
  }
  function fmtTime(s, span) {
    if (span < 120) return fmt(Math.round(s * 10) / 10) + "s";
    var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  // -- which series a view shows -----------------------------------------------------------------
  // view: "scenarios" (default), "requests", or one request's label ("scenario / request").
  function labelsOf(model, group) {
    var out = [];
    model.series.forEach(function (s) { if (s.group === group && out.indexOf(s.label) < 0) out.push(s.label); });
    return out;
  }
  function shown(model, view, usersOnly) {
    if (usersOnly || view === "scenarios" || !view) return model.series.filter(function (s) { return s.group !== "request"; });
    if (view === "requests") return model.series.filter(function (s) { return s.group !== "scenario"; });
    return model.series.filter(function (s) { return s.group === "total" || (s.group === "request" && s.label === view); });
  }
  function colorFor(model, s) {
    if (s.group === "total") return TOTAL;
    var labels = labelsOf(model, s.group), i = labels.indexOf(s.label);
    return COLORS[(i < 0 ? 0 : i) % COLORS.length];
  }

  // -- a chart over time -----------------------------------------------------------------------
  function TimeChart(figure) {
    this.key = figure.getAttribute("data-chart");
    this.spec = SPECS[this.key];
    this.box = figure.querySelector(".plot");
    this.hidden = {};
    this.log = null;
    this.view = "scenarios";
    this.model = {span: 0, phases: [], series: [], start: null};
    if (this.spec.logToggle) this.addLogToggle(figure);
  }
  TimeChart.prototype.addLogToggle = function (figure) {
    var self = this, label = html("label", "tools", null, null), box = document.createElement("input");
    box.type = "checkbox";
    box.className = "log-" + this.key;
    label.appendChild(box);
    label.appendChild(document.createTextNode(" log scale"));
    figure.querySelector("figcaption").appendChild(label);
    this.logBox = box;
    box.addEventListener("change", function () { self.log = box.checked; self.draw(); });
  };
  TimeChart.prototype.set = function (model, view) {
    this.model = model;
    if (view !== undefined) this.view = view;
    this.draw();
  };
  TimeChart.prototype.visible = function () {
    var hidden = this.hidden;
    return shown(this.model, this.view, this.spec.usersOnly).filter(function (s) { return !hidden[s.label]; });
  };
  TimeChart.prototype.failSeries = function () {
    // The red failures/s line: the total's, or the one request's when a single request is shown.
    var m = this.model, single = this.view && this.view !== "scenarios" && this.view !== "requests";
    return m.series.filter(function (s) {
      return single ? (s.group === "request" && s.label === this.view) : s.group === "total";
    }, this);
  };
  TimeChart.prototype.values = function (series) {
    var out = [], spec = this.spec;
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        spec.metrics.forEach(function (m) { var v = p[IDX[m.key]]; if (isNum(v)) out.push(v); });
      });
    });
    if (spec.failures && !this.hidden.__failures) {
      this.failSeries().forEach(function (s) { s.points.forEach(function (p) { if (isNum(p[IDX.fps])) out.push(p[IDX.fps]); }); });
    }
    return out;
  };
  TimeChart.prototype.draw = function () {
    var self = this, spec = this.spec, box = this.box, model = this.model;
    clear(box);
    var W = Math.max(360, Math.round(box.clientWidth || 900)), H = 250;
    var m = {l: 58, r: 14, t: 22, b: 28}, pw = W - m.l - m.r, ph = H - m.t - m.b;
    var svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
                            "aria-label": this.key + " over time", "class": "chart-" + this.key}, box);
    var span = model.span > 0 ? model.span : 1;
    var sx = function (x) { return m.l + (x / span) * pw; };
    var series = this.visible();
    var vals = this.values(series);
    if (!vals.length) {
      // Nothing was measured: an empty frame with made-up axes would only look like data.
      H = 70;
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      svg.setAttribute("height", H);
      var none = svgEl("text", {x: W / 2, y: H / 2 + 4, "text-anchor": "middle", "font-size": 13, fill: "#8c959f"}, svg);
      none.textContent = "no data";
      if (model.series.length) this.legend();
      svg.setAttribute("data-rendered", "1");
      return;
    }
    var positive = vals.filter(function (v) { return v > 0; });
    if (this.log === null && spec.logToggle) {
      // Latencies of different scenarios often differ by orders of magnitude: start in log scale then.
      var lo = Math.min.apply(null, positive.length ? positive : [1]);
      var hi = Math.max.apply(null, positive.length ? positive : [1]);
      this.log = spec.logStart === false ? false : hi / lo > 50;
      this.logBox.checked = this.log;
    }
    var useLog = spec.logToggle && this.log && positive.length > 0;
    var scale = useLog ? logTicks(Math.min.apply(null, positive), Math.max.apply(null, positive))
                       : linearTicks(Math.max.apply(null, vals), 5);
    var sy = yScale(scale, useLog, m.t, ph);

    model.phases.forEach(function (p, i) {
      var x0 = sx(p.start), x1 = sx(Math.max(p.end, p.start));
      svgEl("rect", {x: x0, y: m.t, width: Math.max(1, x1 - x0), height: ph, fill: i % 2 ? "#f3f6fa" : "#e9eff7"}, svg);
      svgEl("line", {x1: x0, x2: x0, y1: m.t - 4, y2: m.t + ph, stroke: "#8c959f", "stroke-width": 1,
                     "stroke-dasharray": "3 3"}, svg);
      var label = svgEl("text", {x: x0 + 4, y: m.t - 7, "font-size": 11.5, fill: "#57606a", "font-weight": 600}, svg);
      label.textContent = truncate(p.name, Math.max(0, x1 - x0 - 6));
      svgEl("title", {}, label).textContent = p.name;
    });
    scale.ticks.forEach(function (v) {
      var y = sy(v);
      svgEl("line", {x1: m.l, x2: m.l + pw, y1: y, y2: y, stroke: "#d0d7de", "stroke-width": 0.8,
                     "stroke-opacity": v === scale.lo ? 1 : 0.7}, svg);
      svgEl("text", {x: m.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#57606a"}, svg).textContent = fmt(v);
    });
    var step = niceStep(span, Math.max(2, Math.floor(pw / 90)));
    if (span >= 120) step = Math.max(step, 10);
    for (var x = 0; x <= span + 1e-9; x += step) {
      var px = sx(x);
      svgEl("line", {x1: px, x2: px, y1: m.t + ph, y2: m.t + ph + 4, stroke: "#8c959f"}, svg);
      svgEl("text", {x: px, y: m.t + ph + 16, "text-anchor": "middle", "font-size": 11, fill: "#57606a"}, svg)
        .textContent = fmtTime(x, span);
    }
    function line(points, idx, attrs) {
      var d = "", open = false;
      points.forEach(function (p) {
        var v = p[idx];
        if (!isNum(v) || (useLog && !(v > 0))) { open = false; return; }
        d += (open ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(v).toFixed(1);
        open = true;
      });
      if (d) { attrs.d = d; svgEl("path", attrs, svg); }
    }
    series.forEach(function (s) {
      var c = colorFor(model, s), total = s.group === "total";
      spec.metrics.forEach(function (metric) {
        line(s.points, IDX[metric.key], {
          fill: "none", stroke: c, "stroke-width": metric.width + (total ? 0.4 : 0),
          "stroke-dasharray": metric.dash || null, "stroke-linejoin": "round", "stroke-linecap": "round",
          "class": total ? "series total" : "series", "data-scenario": s.group === "scenario" ? s.scenario : null,
          "data-request": s.group === "request" ? s.label : null, "data-total": total ? "1" : null,
          "data-metric": metric.key, "data-phase": s.phase
        });
        if (s.points.length <= 40 && !metric.dash && !total) {
          s.points.forEach(function (p) {
            var v = p[IDX[metric.key]];
            if (!isNum(v) || (useLog && !(v > 0))) return;
            svgEl("circle", {cx: sx(p[0]), cy: sy(v), r: 2.6, fill: c}, svg);
          });
        }
      });
    });
    if (spec.failures && !this.hidden.__failures) {
      this.failSeries().forEach(function (s) {
        if (s.points.some(function (p) { return p[IDX.fps] > 0; })) {
          line(s.points, IDX.fps, {fill: "none", stroke: FAIL, "stroke-width": 2, "class": "series failures"});
        }
      });
    }
    this.legend();
    this.hover(svg, sx, m, ph, W, series);
    svg.setAttribute("data-rendered", "1");
  };
  TimeChart.prototype.legend = function () {
    var self = this, legend = html("div", "legend", null, this.box), model = this.model, seen = {};
    shown(model, this.view, this.spec.usersOnly).forEach(function (s) {
      if (seen[s.label]) return;
      seen[s.label] = true;
      var b = html("button", self.hidden[s.label] ? "off" : "", null, legend);
      b.type = "button";
      html("span", "sw", null, b).style.background = colorFor(model, s);
      html("span", "", s.label, b);
      b.title = "show or hide " + s.label;
      b.addEventListener("click", function () { self.hidden[s.label] = !self.hidden[s.label]; self.draw(); });
    });
    if (this.spec.metrics.length > 1) {
      // Percentiles share the series' colour and differ by dash, so show the dash key too.
      this.spec.metrics.forEach(function (metric) {
        var item = html("span", "", null, legend);
        var sw = svgEl("svg", {width: 22, height: 8, "class": "dash"}, item);
        svgEl("line", {x1: 1, x2: 21, y1: 4, y2: 4, stroke: "#57606a", "stroke-width": metric.width,
                       "stroke-dasharray": metric.dash || null}, sw);
        item.appendChild(document.createTextNode(" " + metric.key));
      });
    }
    if (this.spec.failures && this.failSeries().length) {
      var f = html("button", this.hidden.__failures ? "off" : "", null, legend);
      f.type = "button";
      html("span", "sw", null, f).style.background = FAIL;
      html("span", "", "failures/s", f);
      f.addEventListener("click", function () { self.hidden.__failures = !self.hidden.__failures; self.draw(); });
    }
  };
  TimeChart.prototype.hover = function (svg, sx, m, ph, W, series) {
    var self = this, spec = this.spec, tip = html("div", "tip", null, this.box), model = this.model;
    var guide = svgEl("line", {y1: m.t, y2: m.t + ph, stroke: "#57606a", "stroke-width": 1, visibility: "hidden"}, svg);
    function hide() { tip.style.display = "none"; guide.setAttribute("visibility", "hidden"); }
    svg.addEventListener("mousemove", function (ev) {
      var rect = svg.getBoundingClientRect(), k = W / rect.width, px = (ev.clientX - rect.left) * k, best = null;
      series.forEach(function (s) {
        s.points.forEach(function (p) {
          var dist = Math.abs(sx(p[0]) - px);
          if (best === null || dist < best.dist) best = {dist: dist, x: p[0], t: p[1]};
        });
      });
      if (best === null || best.dist > 40) { hide(); return; }
      clear(tip);
      var phase = model.phases.filter(function (p) { return best.x >= p.start && best.x <= p.end; })[0];
      var clock = isNum(model.start) ? " · " + new Date(model.start + best.x * 1000).toISOString().slice(11, 19) + " UTC" : "";
      html("b", "", (phase ? phase.name + " · " : "") + "second " + best.t + clock, tip);
      series.forEach(function (s) {
        s.points.forEach(function (p) {
          if (Math.abs(p[0] - best.x) > 1e-6) return;
          var parts = spec.metrics.map(function (mt) {
            return (spec.metrics.length > 1 ? mt.key + " " : "") + fmt(p[IDX[mt.key]]) + spec.unit;
          });
          if (spec.failures) parts.push("failures " + fmt(p[IDX.fps]) + "/s");
          var row = html("div", "", null, tip);
          html("span", "dot", null, row).style.background = colorFor(model, s);
          row.appendChild(document.createTextNode(s.label + ": " + parts.join(" · ")));
        });
      });
      var gx = sx(best.x);
      guide.setAttribute("x1", gx); guide.setAttribute("x2", gx); guide.setAttribute("visibility", "visible");
      tip.style.display = "block";
      var left = gx / k + 12;
      if (left + tip.offsetWidth > rect.width) left = gx / k - tip.offsetWidth - 12;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = "24px";
    });
    svg.addEventListener("mouseleave", hide);
  };

  // -- the latency distribution ----------------------------------------------------------------
  // model: {edges_ms: [upper bounds], series: [{label, group, counts}]}; shares of each series' requests.
  function DistChart(figure) {
    this.box = figure.querySelector(".plot");
    this.view = "scenarios";
    this.hidden = {};
    this.model = {edges_ms: [], series: []};
  }
  DistChart.prototype.set = function (model, view) {
    this.model = model;
    if (view !== undefined) this.view = view;
    this.draw();
  };
  DistChart.prototype.draw = function () {
    var box = this.box, model = this.model, self = this;
    clear(box);
    var W = Math.max(360, Math.round(box.clientWidth || 900)), H = 220;
    var m = {l: 58, r: 14, t: 12, b: 30}, pw = W - m.l - m.r, ph = H - m.t - m.b;
    var svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img",
                            "aria-label": "latency distribution", "class": "chart-histogram"}, box);
    var series = shown(model, this.view, false).filter(function (s) { return !self.hidden[s.label]; });
    var edges = model.edges_ms, lo = edges.length, hi = -1;
    series.forEach(function (s) {
      s.counts.forEach(function (n, i) { if (n > 0) { lo = Math.min(lo, i); hi = Math.max(hi, i); } });
    });
    if (hi < 0) {
      H = 70;
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      svg.setAttribute("height", H);
      svgEl("text", {x: W / 2, y: H / 2 + 4, "text-anchor": "middle", "font-size": 13, fill: "#8c959f"}, svg)
        .textContent = "no data";
      svg.setAttribute("data-rendered", "1");
      return;
    }
    lo = Math.max(0, lo - 1); hi = Math.min(edges.length - 1, hi + 1);
    var nb = hi - lo + 1, bw = pw / nb, shares = series.map(function (s) {
      var sum = s.counts.reduce(function (a, b) { return a + b; }, 0);
      return s.counts.map(function (n) { return sum ? n / sum * 100 : 0; });
    });
    var top = 0;
    shares.forEach(function (sh) { for (var i = lo; i <= hi; i++) top = Math.max(top, sh[i]); });
    var scale = linearTicks(top, 4), sy = yScale(scale, false, m.t, ph);
    scale.ticks.forEach(function (v) {
      var y = sy(v);
      svgEl("line", {x1: m.l, x2: m.l + pw, y1: y, y2: y, stroke: "#d0d7de", "stroke-width": 0.8}, svg);
      svgEl("text", {x: m.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#57606a"}, svg).textContent = fmt(v) + "%";
    });
    var every = Math.max(1, Math.ceil(nb / Math.max(2, Math.floor(pw / 70))));
    for (var i = lo; i <= hi; i++) {
      if ((i - lo) % every) continue;
      var px = m.l + (i - lo + 1) * bw;
      svgEl("text", {x: px, y: m.t + ph + 16, "text-anchor": "middle", "font-size": 11, fill: "#57606a"}, svg)
        .textContent = "≤" + fmt(edges[i]) + " ms";
    }
    series.forEach(function (s, k) {
      var c = colorFor(model, s), sh = shares[k];
      if (s.group === "total") {
        for (var i = lo; i <= hi; i++) {
          if (!(sh[i] > 0)) continue;
          var y = sy(sh[i]);
          var r = svgEl("rect", {x: m.l + (i - lo) * bw + 1, y: y, width: Math.max(1, bw - 2), height: m.t + ph - y,
                                 fill: "#d0d7de", "class": "bar"}, svg);
          svgEl("title", {}, r).textContent = "≤ " + fmt(edges[i]) + " ms: " + sh[i].toFixed(1) + "% of requests";
        }
        return;
      }
      var d = "";
      for (var j = lo; j <= hi; j++) {
        var x0 = m.l + (j - lo) * bw, yy = sy(sh[j]);
        d += (j === lo ? "M" + x0.toFixed(1) + " " + sy(0).toFixed(1) + "L" : "L") + x0.toFixed(1) + " " + yy.toFixed(1) +
             "L" + (x0 + bw).toFixed(1) + " " + yy.toFixed(1);
      }
      svgEl("path", {d: d, fill: "none", stroke: c, "stroke-width": 1.8, "class": "series dist",
                     "data-label": s.label}, svg);
    });
    var legend = html("div", "legend", null, box), seen = {};
    shown(model, this.view, false).forEach(function (s) {
      if (seen[s.label]) return;
      seen[s.label] = true;
      var b = html("button", self.hidden[s.label] ? "off" : "", null, legend);
      b.type = "button";
      html("span", "sw", null, b).style.background = s.group === "total" ? "#d0d7de" : colorFor(model, s);
      html("span", "", s.label, b);
      b.addEventListener("click", function () { self.hidden[s.label] = !self.hidden[s.label]; self.draw(); });
    });
    svg.setAttribute("data-rendered", "1");
  };

  // -- the request selector shared by a page's charts ------------------------------------------
  function Selector(select, onChange) {
    this.select = select;
    this.labels = [];
    var self = this;
    select.addEventListener("change", function () { onChange(self.select.value); });
  }
  Selector.prototype.update = function (labels) {
    if (labels.join("\n") === this.labels.join("\n")) return;
    this.labels = labels.slice();
    var current = this.select.value || "scenarios";
    clear(this.select);
    var add = function (value, text, parent) { var o = html("option", "", text, parent); o.value = value; };
    add("scenarios", "per scenario", this.select);
    add("requests", "per request", this.select);
    var group = html("optgroup", "", null, this.select);
    group.label = "one request";
    labels.forEach(function (l) { add(l, l, group); });
    this.select.value = current === "scenarios" || current === "requests" || labels.indexOf(current) >= 0 ? current : "scenarios";
  };

  // -- tables ----------------------------------------------------------------------------------
  function table(parent, cls, head) {
    var wrap = html("div", "tablewrap", null, parent), t = html("table", cls, null, wrap);
    var tr = html("tr", "", null, html("thead", "", null, t));
    head.forEach(function (h) { html("th", h.num ? "num" : "", h.label, tr).title = h.title || ""; });
    return html("tbody", "", null, t);
  }
  function cell(tr, text, cls) { return html("td", cls || "", text, tr); }
  function within(td, ratio, expectedMs) {
    if (!isNum(ratio)) return;
    var span = html("span", "within", null, td), bar = html("span", "bar", null, span);
    html("span", "", null, bar).style.width = Math.max(0, Math.min(100, ratio * 100)).toFixed(1) + "%";
    span.appendChild(document.createTextNode(pct(ratio) + (isNum(expectedMs) ? " ≤ " + ms(expectedMs) + " ms" : "")));
  }
  var LAT_COLS = [["min", "Min"], ["mean", "Mean"], ["p50", "p50"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"],
                  ["p99_9", "p99.9"], ["max", "Max"]];
  // rows: [{group: "phase"|"scenario", text, aside}] or request rows {name, type, count, failures, ...}
  function requestTable(parent, rows, opts) {
    opts = opts || {};
    var lat = opts.latency || LAT_COLS.map(function (c) { return c[0]; });
    var head = [{label: "Request"}, {label: "Requests", num: true}, {label: "Failures", num: true},
                {label: "Interr.", num: true, title: "interrupted at stop"}, {label: "Req/s", num: true}];
    if (opts.bytes !== false) head.push({label: "Bytes", num: true});
    LAT_COLS.forEach(function (c) { if (lat.indexOf(c[0]) >= 0) head.push({label: c[1], num: true, title: "ms"}); });
    head.push({label: "Within expected", num: true});
    if (opts.codes !== false) head.push({label: "Status codes"});
    var body = table(parent, "results-table", head), ncols = head.length;
    rows.forEach(function (r) {
      var tr = html("tr", r.group ? "group " + r.group : (r.total ? "total" : ""), null, body);
      if (r.group) {
        var td = cell(tr, null);
        td.colSpan = ncols;
        td.appendChild(document.createTextNode(r.group === "phase" ? "Phase " : "Scenario "));
        html("b", "", r.text, td);
        if (r.aside) html("span", "aside", " · " + r.aside, td);
        return;
      }
      if (r.empty) { var e = cell(tr, r.empty, "req empty"); e.colSpan = ncols; return; }
      var name = cell(tr, null, "req");
      html("span", "", r.name, name);
      if (r.type) html("span", "type", r.type, name);
      var measured = (r.count || 0) - (r.interrupted || 0) > 0, l = measured ? (r.latency_ms || {}) : {};
      cell(tr, count(r.count), "num");
      cell(tr, count(r.failures), "num" + (r.failures ? " bad" : ""));
      cell(tr, count(r.interrupted), "num");
      cell(tr, rate(r.rps), "num");
      if (opts.bytes !== false) cell(tr, bytes(r.bytes), "num");
      LAT_COLS.forEach(function (c) { if (lat.indexOf(c[0]) >= 0) cell(tr, ms(l[c[0]]), "num"); });
      within(cell(tr, null, "num"), r.within_expected_ratio, r.expected_ms);
      if (opts.codes !== false) {
        var codes = cell(tr, null, "codes");
        (r.status_codes || []).forEach(function (pair) {
          html("span", "code c" + String(pair[0]).slice(0, 1), pair[0] + "×" + count(pair[1]), codes);
          codes.appendChild(document.createTextNode(" "));
        });
      }
    });
    return body;
  }
  function thresholdsTable(parent, items) {
    var body = table(parent, "thresholds-table", [{label: ""}, {label: "Expression"}, {label: "Scope"},
      {label: "Observed", num: true}, {label: "Limit", num: true}, {label: "For", num: true}, {label: "On failure"}]);
    items.forEach(function (t) {
      var cls = t.passed === true ? "pass" : t.passed === false ? "fail" : "warn";
      var tr = html("tr", cls, null, body);
      cell(tr, t.passed === true ? "✓" : t.passed === false ? "✗" : "?", "mark " + cls);
      html("code", "", t.expression || "", cell(tr, null));
      cell(tr, t.scope || "run");
      cell(tr, t.observed === null || t.observed === undefined ? "no data" : withUnit(t.observed, t.unit), "num");
      cell(tr, t.limit === null || t.limit === undefined ? "" : withUnit(t.limit, t.unit), "num");
      cell(tr, isNum(t.for_s) ? secs(t.for_s) : "", "num");
      cell(tr, t.abort ? "abort" : "");
    });
  }
  function errorsTable(parent, items) {
    var body = table(parent, "errors-table", [{label: "Kind"}, {label: "Message"}, {label: "Count", num: true},
                                              {label: "Where (phase / scenario / request)"}]);
    items.forEach(function (e) {
      var tr = html("tr", "", null, body);
      html("code", "", e.kind || "", cell(tr, null));
      cell(tr, e.message || "", "message");
      cell(tr, count(e.count), "num");
      cell(tr, e.where || "");
    });
  }
  // workers: [{id, host, state, cpu_percent, rss, users, requests, share, joined, left, lost, live, problems}]
  function workersTable(parent, items, live) {
    var head = [{label: "ID"}, {label: "Host"}];
    if (live) head.push({label: "State"}, {label: "CPU", num: true}, {label: "RSS", num: true}, {label: "Users", num: true});
    else head.push({label: "Joined"}, {label: "Left"}, {label: "Faults"});
    head.push({label: "Status"}, {label: "Requests", num: true}, {label: "Share", num: true});
    var body = table(parent, "workers-table", head), total = 0;
    items.forEach(function (w) { total += w.requests || 0; });
    items.forEach(function (w) {
      var tr = html("tr", "", null, body);
      html("code", "", w.id || "", cell(tr, null));
      cell(tr, w.host || "");
      if (live) {
        cell(tr, w.state || "–");
        cell(tr, isNum(w.cpu_percent) ? w.cpu_percent.toFixed(0) + "%" : "–", "num");
        cell(tr, bytes(w.rss), "num");
        cell(tr, count(w.users), "num");
      } else {
        cell(tr, when(w.joined));
        cell(tr, when(w.left));
        cell(tr, faults(w));
      }
      html("span", "tag " + (w.lost ? "fail" : "pass"), w.lost ? "lost" : (w.live === false ? "left" : "ok"), cell(tr, null));
      cell(tr, count(w.requests), "num");
      cell(tr, total ? ((w.requests || 0) / total * 100).toFixed(1) + "%" : "", "num");
    });
    var problems = [];
    items.forEach(function (w) { (w.problems || []).forEach(function (p) { problems.push([w.id, p]); }); });
    if (problems.length) {
      html("h3", "", "Problems the workers reported", parent);
      var ul = html("ul", "problems", null, parent);
      problems.forEach(function (p) {
        var li = html("li", "", null, ul);
        html("code", "", p[0], li);
        li.appendChild(document.createTextNode(": "));
        html("span", "", p[1], li);
      });
    }
  }
  // "lost 2× (4.1 s), 1 restart": the intervals the master declared the worker lost, and new processes.
  function faults(w) {
    var parts = [], lost = w.lost_intervals || [], away = 0;
    lost.forEach(function (i) { if (isNum(i[0]) && isNum(i[1])) away += (i[1] - i[0]) / 1000; });
    if (lost.length) parts.push("lost " + lost.length + "× (" + away.toFixed(1) + " s)");
    if (w.restarts) parts.push(w.restarts + " restart" + (w.restarts === 1 ? "" : "s"));
    return parts.length ? parts.join(", ") : "–";
  }
  function planList(parent, phases, currentPhase) {
    var ol = html("ol", "plan", null, parent);
    phases.forEach(function (p, i) {
      var li = html("li", currentPhase === undefined ? "" : i < currentPhase ? "done" : i === currentPhase ? "now" : "ahead", null, ol);
      html("b", "", p.name, li);
      html("span", "aside", " · " + secs(p.run_time), li);
      var ul = html("ul", "", null, li);
      (p.scenarios || []).forEach(function (s) {
        var text = s.run_once
          ? "run once: " + (s.batches || []).map(function (b) { return b[1] + (b[0] ? " after " + fmt(b[0]) + "s" : ""); }).join(", ")
          : (s.steps || []).map(function (st) { return "t=" + fmt(st[0]) + "s:" + st[1]; }).join(" → ");
        var item = html("li", "", null, ul);
        html("span", "scen", s.name, item);
        item.appendChild(document.createTextNode(" " + text + " users"));
      });
    });
  }
  function section(parent, id, title) {
    var s = html("section", "", null, parent);
    s.id = id;
    html("h2", "", title, s);
    return s;
  }
  function empty(parent, text) { html("p", "empty", text, parent); }

  // The headline cards: [label, value, sub, bad] each, bad marking a card red.
  function cards(parent, items) {
    items.forEach(function (c) {
      var card = html("div", "card" + (c[3] ? " bad" : ""), null, parent);
      html("div", "label", c[0], card);
      html("div", "value", c[1], card);
      html("div", "sub", c[2], card);
    });
  }

  // -- the charts' setup, the same on every page -------------------------------------------------
  // The "Show [view]" bar above a page's charts: a Selector that calls onChange(view).
  function viewBar(parent, onChange) {
    var bar = html("div", "viewbar", null, parent), label = html("label", "", "Show ", bar);
    return new Selector(html("select", "view", null, label), onChange);
  }
  // A chart's figure: its caption (title, hint) above the box the chart draws in.
  function chartFigure(parent, name, title, hint) {
    var fig = html("figure", "chart", null, parent);
    fig.setAttribute("data-chart", name);
    var cap = html("figcaption", "", null, fig);
    html("b", "", title, cap);
    html("span", "hint", hint, cap);
    html("div", "plot", null, fig);
    return fig;
  }
  // The charts over time, a TimeChart each: users, requests/s, latency; hints: their captions' hints.
  function timeCharts(parent, hints) {
    return [["users", "Users"], ["rps", "Requests/s"], ["latency", "Latency (ms)"]].map(function (c, i) {
      return new TimeChart(chartFigure(parent, c[0], c[1], hints[i]));
    });
  }

  window.Gradual = {
    IDX: IDX, TimeChart: TimeChart, DistChart: DistChart, Selector: Selector, html: html, clear: clear,
    fmt: fmt, count: count, rate: rate, ms: ms, bytes: bytes, secs: secs, pct: pct, when: when, isNum: isNum,
    requestTable: requestTable, thresholdsTable: thresholdsTable, errorsTable: errorsTable,
    workersTable: workersTable, planList: planList, section: section, empty: empty, labelsOf: labelsOf,
    cards: cards, viewBar: viewBar, chartFigure: chartFigure, timeCharts: timeCharts
  };
})();
