// The operators' dashboard: draws every chart from /dashboard/data.json and refreshes them once per market tick.
// Chart.js comes from the project's own static files (vendor/chartjs); nothing here loads from another host.
(function () {
  "use strict";
  var body = document.body;
  var source = body.getAttribute("data-source");
  var pollMs = Math.max(2, Number(body.getAttribute("data-poll-seconds") || 10)) * 1000;
  var COLORS = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e"];
  var STATUS_COLORS = {
    SUCCEEDED: "#109618", FAILED: "#dc3912", TIMED_OUT: "#ff9900", OOM_KILLED: "#990099",
    LOST: "#555555", RUNNING: "#0099c6", QUEUED: "#bbbbbb"
  };
  // PopulationStats fields drawn elsewhere (or bookkeeping); any other numeric field the server sends goes into the
  // "selection statistics" chart beside the selection differential and the diversity.
  var KNOWN_STATS = ["tick", "created_at", "alive", "births", "deaths", "max_generation", "credits_in_circulation",
    "minted", "burned", "gini", "minted_in_tick", "burned_in_tick", "last_event_id", "selection_differential",
    "diversity"];
  var charts = {};

  function color(i) { return COLORS[i % COLORS.length]; }

  function options(yTitle, extra) {
    var o = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" }, tooltip: { enabled: true } },
      scales: {
        x: { title: { display: true, text: "market tick" }, ticks: { maxTicksLimit: 12 } },
        y: { title: { display: true, text: yTitle }, beginAtZero: true }
      }
    };
    extra = extra || {};
    Object.keys(extra).forEach(function (key) { o[key] = extra[key]; });
    return o;
  }

  function line(label, values, i, extra) {
    var d = { type: "line", label: label, data: values, borderColor: color(i), backgroundColor: color(i),
      pointRadius: 2, borderWidth: 2, spanGaps: true, tension: 0.15 };
    Object.keys(extra || {}).forEach(function (key) { d[key] = extra[key]; });
    return d;
  }

  function bar(label, values, fill, extra) {
    var d = { type: "bar", label: label, data: values, backgroundColor: fill, borderColor: fill };
    Object.keys(extra || {}).forEach(function (key) { d[key] = extra[key]; });
    return d;
  }

  // values of rows (keyed by "tick") aligned to the labels, null where a tick has no row
  function align(labels, rows, pick) {
    var byTick = {};
    rows.forEach(function (row) { byTick[row.tick] = row; });
    return labels.map(function (tick) { var row = byTick[tick]; return row === undefined ? null : pick(row); });
  }

  function draw(id, type, labels, datasets, opts) {
    var chart = charts[id];
    if (chart) {
      chart.data.labels = labels;
      // keep hidden/visible state by label
      datasets.forEach(function (ds, i) {
        if (chart.data.datasets[i] && chart.data.datasets[i].label === ds.label) {
          chart.data.datasets[i].data = ds.data;
        } else {
          chart.data.datasets[i] = ds;
        }
      });
      chart.data.datasets.length = datasets.length;
      chart.update("none");
      return chart;
    }
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    charts[id] = new window.Chart(canvas, { type: type, data: { labels: labels, datasets: datasets }, options: opts });
    return charts[id];
  }

  function render(data) {
    var tickSet = {};
    data.market.forEach(function (row) { tickSet[row.tick] = true; });
    if (!data.market.length) { data.population.forEach(function (row) { tickSet[row.tick] = true; }); }
    var labels = Object.keys(tickSet).map(Number).sort(function (a, b) { return a - b; });

    draw("chart-prices", "line", labels, data.resources.map(function (code, i) {
      return line(code, align(labels, data.market, function (r) { return r.prices[code] === undefined ? null : r.prices[code]; }), i);
    }), options("µcredits per unit-second"));

    draw("chart-utilization", "line", labels, data.resources.map(function (code, i) {
      return line(code, align(labels, data.market, function (r) { return r.utilization[code] === undefined ? null : r.utilization[code] * 100; }), i);
    }), options("% of supply allocated", { scales: {
      x: { title: { display: true, text: "market tick" }, ticks: { maxTicksLimit: 12 } },
      y: { title: { display: true, text: "% of supply allocated" }, min: 0, suggestedMax: 100 } } }));

    draw("chart-population", "bar", labels, [
      line("living agents", align(labels, data.population, function (r) { return r.alive; }), 0, { yAxisID: "y" }),
      bar("births", align(labels, data.population, function (r) { return r.births; }), "#109618", { yAxisID: "y" }),
      bar("deaths", align(labels, data.population, function (r) { return r.deaths; }), "#dc3912", { yAxisID: "y" })
    ], options("agents"));

    draw("chart-credits", "line", labels, [
      line("minted (total)", align(labels, data.population, function (r) { return r.minted; }), 3),
      line("burned (total)", align(labels, data.population, function (r) { return r.burned; }), 1),
      line("in circulation", align(labels, data.population, function (r) { return r.credits_in_circulation; }), 0)
    ], options("credits"));

    var statuses = data.execution_statuses.filter(function (s) {
      return data.executions.some(function (row) { return row.by_status[s]; });
    });
    draw("chart-executions", "bar", labels, statuses.map(function (s) {
      return bar(s.toLowerCase().replace("_", " "), align(labels, data.executions, function (r) { return r.by_status[s] || 0; }),
        STATUS_COLORS[s] || "#999", { stack: "runs" });
    }), options("executions", { scales: {
      x: { stacked: true, title: { display: true, text: "market tick (of the winning bid)" }, ticks: { maxTicksLimit: 12 } },
      y: { stacked: true, beginAtZero: true, title: { display: true, text: "executions" } } } }));

    draw("chart-scores", "line", labels, [
      line("best", align(labels, data.scores, function (r) { return r.best; }), 3, { showLine: true }),
      line("mean", align(labels, data.scores, function (r) { return r.mean; }), 0, { showLine: true })
    ], options("score (0–10)", { scales: {
      x: { title: { display: true, text: "market tick (of the judged execution)" }, ticks: { maxTicksLimit: 12 } },
      y: { min: 0, max: 10, title: { display: true, text: "score (0–10)" } } } }));

    draw("chart-attention", "line", labels, [
      line("reserve", align(labels, data.attention, function (r) { return r.reserve; }), 2),
      line("paid by the winner", align(labels, data.attention, function (r) { return r.paid; }), 4)
    ], options("credits per judge's slot"));

    var has = function (key) { return data.population.some(function (r) { return typeof r[key] === "number"; }); };
    if (has("minted_in_tick") || has("burned_in_tick")) {
      document.getElementById("figure-flows").hidden = false;
      draw("chart-flows", "bar", labels, [
        bar("minted", align(labels, data.population, function (r) { return r.minted_in_tick; }), "#109618"),
        bar("burned", align(labels, data.population, function (r) { return r.burned_in_tick; }), "#dc3912")
      ], options("credits in the tick"));
    }

    var extra = [];
    data.population.forEach(function (row) {
      Object.keys(row).forEach(function (key) {
        if (KNOWN_STATS.indexOf(key) < 0 && typeof row[key] === "number" && extra.indexOf(key) < 0) { extra.push(key); }
      });
    });
    var selection = [];
    if (has("selection_differential")) {
      selection.push(line("selection differential", align(labels, data.population, function (r) {
        return typeof r.selection_differential === "number" ? r.selection_differential : null; }), 4, { yAxisID: "y" }));
    }
    if (has("diversity")) {
      selection.push(line("diversity (distinct artifacts)", align(labels, data.population, function (r) {
        return r.diversity; }), 5, { yAxisID: "y1" }));
    }
    extra.forEach(function (key, i) {
      selection.push(line(key.replace(/_/g, " "), align(labels, data.population, function (r) {
        return r[key] === undefined ? null : r[key]; }), 6 + i, { yAxisID: "y" }));
    });
    if (selection.length) {
      document.getElementById("figure-selection").hidden = false;
      draw("chart-selection", "line", labels, selection, options("selection differential", { scales: {
        x: { title: { display: true, text: "market tick" }, ticks: { maxTicksLimit: 12 } },
        y: { position: "left", title: { display: true, text: "selection differential (score × offspring)" } },
        y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
          title: { display: true, text: "distinct artifacts" } } } }));
    }

    var latest = data.latest;
    if (latest) {
      document.getElementById("headline").textContent = "tick " + latest.tick + ": " + latest.alive + " alive, generation up to " +
        latest.max_generation + ", " + latest.credits_in_circulation + " credits in circulation, " + latest.minted +
        " minted, " + latest.burned + " burned, Gini " + Number(latest.gini).toFixed(2);
    }
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    body.setAttribute("data-charts-drawn", String(Object.keys(charts).length));
  }

  function poll() {
    fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("dashboard data: HTTP " + response.status); }
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        var updated = document.getElementById("updated");
        if (updated) { updated.textContent = "refresh failed (" + error.message + "), retrying"; }
      })
      .then(function () { setTimeout(poll, pollMs); });
  }

  if (!window.Chart) {
    document.getElementById("updated").textContent = "Chart.js did not load";
    return;
  }
  window.Chart.defaults.font.family = "system-ui, sans-serif";
  poll();
})();
