/* Sprintboard report charts, drawn with Chart.js from the report's JSON (the #report-data script).
   Every chart has a data table beside it in the page; these charts only draw what the tables hold. */
(function () {
  "use strict";

  var COLORS = ["#2952cc", "#067647", "#b54708", "#7a5af8", "#c11574", "#0e9384", "#5b6576", "#d92d20", "#175cd3"];
  var PERCENTILE_COLORS = { "50": "#067647", "70": "#0e9384", "85": "#b54708", "95": "#b42318" };

  function color(i) { return COLORS[i % COLORS.length]; }
  function day(iso) { return Date.parse(iso.length === 10 ? iso + "T12:00:00Z" : iso); }
  function dateLabel(ms) { return new Date(ms).toISOString().slice(0, 10); }

  function base(extra) {
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { position: "bottom" } },
    };
    return Object.assign(options, extra || {});
  }

  function line(label, data, i, extra) {
    return Object.assign({ label: label, data: data, borderColor: color(i), backgroundColor: color(i), pointRadius: 2, tension: 0 }, extra || {});
  }

  function dates(rows) { return rows.map(function (d) { return d.date; }); }

  function percentileLines(percentiles, xs) {
    var out = [];
    ["50", "70", "85", "95"].forEach(function (p) {
      var value = percentiles[p];
      if (value === null || value === undefined || !xs.length) return;
      out.push({
        type: "line", label: p + "th percentile: " + value + " d", data: xs.map(function (x) { return { x: x, y: value }; }),
        borderColor: PERCENTILE_COLORS[p], borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5, fill: false,
      });
    });
    return out;
  }

  function timeAxis() {
    return { type: "linear", ticks: { callback: function (v) { return dateLabel(v); }, maxTicksLimit: 8 } };
  }

  var CHARTS = {
    burndown: function (r) {
      var rows = r.burndown;
      return { type: "line", data: { labels: dates(rows), datasets: [
        line("Remaining points", rows.map(function (d) { return d.remaining_points; }), 0, { stepped: true }),
        line("Scope", rows.map(function (d) { return d.scope_points; }), 2, { stepped: true, borderDash: [2, 2] }),
        line("Ideal", rows.map(function (d) { return d.ideal_points; }), 6, { borderDash: [6, 4], pointRadius: 0 }),
      ] }, options: base({ scales: { y: { beginAtZero: true, title: { display: true, text: "points" } } } }) };
    },
    burnup: function (r) {
      var rows = r.burndown;
      return { type: "line", data: { labels: dates(rows), datasets: [
        line("Completed points", rows.map(function (d) { return d.completed_points; }), 1),
        line("Scope", rows.map(function (d) { return d.scope_points; }), 2, { stepped: true, borderDash: [2, 2] }),
      ] }, options: base({ scales: { y: { beginAtZero: true, title: { display: true, text: "points" } } } }) };
    },
    "cycle-scatter": function (r) {
      var points = r.cycle_times.map(function (c) { return { x: day(c.finish), y: c.days, key: c.key }; });
      var xs = [day(r.start), day(r.end)];
      return { type: "scatter", data: { datasets: [
        { label: "Finished story", data: points, backgroundColor: color(0), pointRadius: 4 },
      ].concat(percentileLines(r.percentiles, xs)) }, options: base({
        scales: { x: timeAxis(), y: { beginAtZero: true, title: { display: true, text: "cycle time (days)" } } },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (c) {
          return (c.raw.key || c.dataset.label) + ": " + c.raw.y + " d, finished " + dateLabel(c.raw.x);
        } } } },
      }) };
    },
    throughput: function (r) {
      return { type: "line", data: { labels: dates(r.throughput), datasets: [
        line("Finished per day", r.throughput.map(function (d) { return d.count; }), 1),
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
    },
    wip: function (r) {
      return { type: "line", data: { labels: dates(r.wip), datasets: [
        line("Work in progress", r.wip.map(function (d) { return d.count; }), 2),
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
    },
    cfd: function (r) {
      var states = r.states.slice().reverse();  // done at the bottom, backlog on top
      var datasets = states.map(function (id, i) {
        return line(r.state_names[String(id)] || ("state " + id), r.cfd.map(function (d) { return d.counts[String(id)] || 0; }), i,
          { fill: i === 0 ? "origin" : "-1", pointRadius: 0, backgroundColor: color(i) + "99" });
      });
      return { type: "line", data: { labels: dates(r.cfd), datasets: datasets },
        options: base({ scales: { y: { stacked: true, beginAtZero: true, title: { display: true, text: "stories" } } } }) };
    },
    aging: function (r) {
      var names = [], seen = {};
      r.work_item_age.forEach(function (a) { var n = r.state_names[String(a.state)]; if (!seen[n]) { seen[n] = 1; names.push(n); } });
      var points = r.work_item_age.map(function (a) { return { x: r.state_names[String(a.state)], y: a.days, key: a.key }; });
      var datasets = [{ type: "scatter", label: "Started story", data: points, backgroundColor: color(4), pointRadius: 4 }];
      ["50", "85"].forEach(function (p) {
        var value = r.percentiles[p];
        if (value === null || value === undefined) return;
        datasets.push({ type: "line", label: p + "th percentile cycle time: " + value + " d", data: names.map(function (n) { return { x: n, y: value }; }),
          borderColor: PERCENTILE_COLORS[p], borderDash: [6, 4], pointRadius: 0, fill: false });
      });
      return { type: "scatter", data: { labels: names, datasets: datasets }, options: base({
        scales: { x: { type: "category", labels: names }, y: { beginAtZero: true, title: { display: true, text: "age (days)" } } },
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (c) { return (c.raw.key || c.dataset.label) + ": " + c.raw.y + " d"; } } } },
      }) };
    },
    "time-in-state": function (r) {
      // The started states (active, waiting): hours in Backlog or Done would dwarf the ones that matter.
      var rows = r.time_in_state.filter(function (t) { return !t.category || t.category === "active" || t.category === "waiting"; });
      return { type: "bar", data: { labels: rows.map(function (t) { return t.name; }), datasets: [
        { label: "Hours", data: rows.map(function (t) { return t.hours; }), backgroundColor: color(0) },
      ] }, options: base({ scales: { y: { beginAtZero: true, title: { display: true, text: "hours" } } } }) };
    },
    efficiency: function (r) {
      var rows = r.flow_efficiency.stories;
      return { type: "bar", data: { labels: rows.map(function (s) { return s.key; }), datasets: [
        { label: "Active hours", data: rows.map(function (s) { return s.active_hours; }), backgroundColor: color(1) },
        { label: "Wait hours", data: rows.map(function (s) { return s.wait_hours; }), backgroundColor: color(2) },
      ] }, options: base({ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }) };
    },
    "lead-distribution": function (r) {
      var counts = {}, max = 0;
      r.lead_times.forEach(function (l) { counts[l.days] = (counts[l.days] || 0) + 1; max = Math.max(max, l.days); });
      var labels = [], data = [];
      for (var d = 1; d <= max; d++) { labels.push(String(d)); data.push(counts[d] || 0); }
      return { type: "bar", data: { labels: labels, datasets: [{ label: "Stories", data: data, backgroundColor: color(3) }] },
        options: base({ scales: { x: { title: { display: true, text: "lead time (days)" } }, y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
    },
    velocity: function (r) {
      return { type: "bar", data: { labels: r.sprints.map(function (s) { return s.name; }), datasets: [
        { label: "Committed points", data: r.sprints.map(function (s) { return s.committed_points; }), backgroundColor: color(6) },
        { label: "Completed points", data: r.sprints.map(function (s) { return s.completed_points; }), backgroundColor: color(1) },
      ] }, options: base({ scales: { y: { beginAtZero: true } } }) };
    },
    "forecast-history": function (r) {
      return { type: "bar", data: { labels: r.history.map(function (_, i) { return String(i + 1); }), datasets: [
        { label: "Finished that day", data: r.history, backgroundColor: color(0) },
      ] }, options: base({ scales: { x: { title: { display: true, text: "history day" } }, y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
    },
    "waste-partial": function (r) {
      var rows = r.partially_done;
      return { type: "bar", data: { labels: rows.map(function (p) { return p.name; }), datasets: [
        { label: "Carry-over stories", data: rows.map(function (p) { return p.carry_over; }), backgroundColor: color(2) },
        { label: "WIP at close", data: rows.map(function (p) { return p.wip; }), backgroundColor: color(0) },
        { label: "Older than the SLE", data: rows.map(function (p) { return p.older_than_sle; }), backgroundColor: color(7) },
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
    },
    "waste-waiting": function (r) {
      var rows = r.waiting.by_state;
      return { type: "bar", data: { labels: rows.map(function (w) { return w.name; }), datasets: [
        { label: "Wait hours", data: rows.map(function (w) { return w.hours; }), backgroundColor: color(2) },
      ] }, options: base({ scales: { y: { beginAtZero: true } } }) };
    },
    "waste-churn": function (r) {
      var rows = r.backlog.sprints;
      return { type: "line", data: { labels: rows.map(function (s) { return s.name; }), datasets: [
        line("Scope churn", rows.map(function (s) { return s.scope_churn; }), 4),
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } } } } }) };
    },
    // --- DataOps ---------------------------------------------------------------------------------
    "dataops-timings": function (r) {
      var rows = r.deliverables;
      return { type: "bar", data: { labels: rows.map(function (d) { return d.name; }), datasets: [
        { label: "Time to insight (days)", data: rows.map(function (d) { return d.time_to_insight_days; }), backgroundColor: color(0) },
        { label: "Validation lag (days)", data: rows.map(function (d) { return d.validation_lag_days; }), backgroundColor: color(2) },
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "days" } } } }) };
    },
    "dataops-by-kind": function (r) {
      var rows = r.by_kind, names = r.kind_names || {};
      function series(measure, p) { return rows.map(function (k) { return k[measure][p]; }); }
      return { type: "bar", data: { labels: rows.map(function (k) { return names[k.kind] || k.kind; }), datasets: [
        { label: "Time to insight, 50th", data: series("time_to_insight", "50"), backgroundColor: color(0) },
        { label: "Time to insight, 85th", data: series("time_to_insight", "85"), backgroundColor: color(8) },
        { label: "Validation lag, 50th", data: series("validation_lag", "50"), backgroundColor: color(2) },
        { label: "Validation lag, 85th", data: series("validation_lag", "85"), backgroundColor: color(7) },
      ] }, options: base({ scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "days" } } } }) };
    },
    "dataops-per-sprint": function (r) {
      var rows = r.throughput, names = r.kind_names || {}, kinds = [], seen = {};
      rows.forEach(function (s) { Object.keys(s.counts).forEach(function (k) { if (!seen[k]) { seen[k] = 1; kinds.push(k); } }); });
      kinds.sort(function (a, b) { return (names[a] || a).localeCompare(names[b] || b); });
      return { type: "bar", data: { labels: rows.map(function (s) { return s.name; }), datasets: kinds.map(function (k, i) {
        return { label: names[k] || k, data: rows.map(function (s) { return s.counts[k] || 0; }), backgroundColor: color(i) };
      }) }, options: base({ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "deliverables" } } } }) };
    },
  };

  // --- Lean waste trends: each waste's headline figure per closed sprint (result.trend, oldest first) ----
  var WASTE_TRENDS = {
    partially_done: "Carry-over stories", waiting: "Wait hours", task_switching: "Flagged person-days",
    handoffs: "Assignee changes while started", rework: "Reopens per finished story", extra_features: "Cancelled after start",
    backlog: "Scope churn", relearning: "Silences resumed",
  };
  Object.keys(WASTE_TRENDS).forEach(function (waste, i) {
    CHARTS["waste-trend-" + waste.replace(/_/g, "-")] = function (r) {
      var rows = r.trend || [];
      return { type: "line", data: { labels: rows.map(function (s) { return s.name; }), datasets: [
        line(WASTE_TRENDS[waste], rows.map(function (s) { return s[waste].value; }), i, { pointRadius: 3, spanGaps: false }),
      ] }, options: base({
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) {
          var figure = rows[c.dataIndex][waste];
          return WASTE_TRENDS[waste] + ": " + (figure.value === null ? "none" : figure.value) + " (n = " + figure.n + ")";
        } } } },
      }) };
    };
  });

  function draw() {
    var source = document.getElementById("report-data");
    if (!source || typeof Chart === "undefined") return;
    var result = JSON.parse(source.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var build = CHARTS[canvas.dataset.chart];
      if (!build || canvas.dataset.drawn) return;
      new Chart(canvas, build(result));
      canvas.dataset.drawn = "true";
    });
  }

  // body[data-ready] (app.js) waits for the charts: browser tests look at them once it is set.
  document.body.dataset.setup = "reports";
  function setUp() {
    draw();
    window.sprintboardReady("reports");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
