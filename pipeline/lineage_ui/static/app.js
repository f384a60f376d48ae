/* ehrlm lineage UI: catalogue, graph, node panel, compare, runs and impact views over the read-only JSON API
   of pipeline/lineage_ui/app.py. Plain JS, no build step; hash routes so every view has a link. */
(function () {
  "use strict";

  var view = document.getElementById("view");
  // a long table is slow to lay out: the catalogue lists the first PAGE rows that match, then all on request
  var PAGE = 200;
  var state = { cy: null, graphKey: null, summary: null, sort: { key: "started_at", desc: true }, limit: PAGE };
  window.ehrlm = state; // for the browser test and for people poking at the page

  // --- helpers -----------------------------------------------------------------------------------------

  function h(v) {
    return String(v === null || v === undefined ? "" : v)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function api(path) {
    return fetch(path).then(function (r) {
      if (r.ok) { return r.json(); }
      return r.json().catch(function () { return {}; }).then(function (e) { throw new Error(e.detail || (r.status + " " + r.statusText)); });
    });
  }
  function fmtNum(v) { return typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 4 }) : h(v); }
  function fmtSize(b) {
    if (typeof b !== "number") { return ""; }
    var u = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(1) : b) + " " + u[i];
  }
  function fmtTime(t) { return t ? h(String(t).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC")) : ""; }
  function fmtVal(v) {
    if (v === null || v === undefined) { return '<span class="muted">–</span>'; }
    if (typeof v === "object") { return "<code>" + h(JSON.stringify(v)) + "</code>"; }
    return typeof v === "number" ? fmtNum(v) : h(v);
  }
  function dsLink(id, text) {
    if (!id || id.indexOf("/") < 0 || id.indexOf("file:") === 0) { return h(text || id); }
    return '<a href="#/dataset/' + h(id) + '" class="fp">' + h(text || id) + "</a>";
  }
  function badges(r) {
    var out = '<span class="badge ' + h(r.status) + '">' + h(r.status) + "</span>";
    if (r.kind === "model") { out += '<span class="badge model">model</span>'; }
    if (r.stale) { out += '<span class="badge stale" title="an upstream dataset has a newer fingerprint">stale</span>'; }
    if (r.superseded_by) { out += '<span class="badge superseded" title="superseded by ' + h(r.superseded_by) + '">superseded</span>'; }
    return out;
  }
  function flatten(obj, prefix, out) {
    out = out || [];
    if (obj && typeof obj === "object" && !Array.isArray(obj) && Object.keys(obj).length) {
      Object.keys(obj).sort().forEach(function (k) { flatten(obj[k], prefix ? prefix + "." + k : k, out); });
    } else if (prefix) { out.push([prefix, obj]); }
    return out;
  }
  function kvTable(obj, cls) {
    var rows = flatten(obj, "");
    if (!rows.length) { return '<p class="muted">none</p>'; }
    return '<table class="kv ' + (cls || "") + '">' + rows.map(function (r) {
      return '<tr><td class="key">' + h(r[0]) + "</td><td>" + fmtVal(r[1]) + "</td></tr>";
    }).join("") + "</table>";
  }
  function isCountMap(v) {
    if (!v || typeof v !== "object" || Array.isArray(v)) { return false; }
    var ks = Object.keys(v);
    return ks.length > 1 && ks.every(function (k) { return typeof v[k] === "number"; });
  }
  function barList(map) {
    var ks = Object.keys(map).sort(function (a, b) { return map[b] - map[a]; });
    var max = Math.max.apply(null, ks.map(function (k) { return map[k]; }).concat([1]));
    return '<div class="bars">' + ks.map(function (k) {
      return "<span>" + h(k) + '</span><div class="bar" style="width:' + (100 * map[k] / max).toFixed(1) + '%"></div><span class="num">' + fmtNum(map[k]) + "</span>";
    }).join("") + "</div>";
  }
  var COLORS = ["#3367d6", "#e37400", "#188038", "#a142f4", "#c5221f"];
  function lineChart(c) {
    var W = 420, H = 150, L = 44, R = 10, T = 10, B = 24;
    var pts = [];
    Object.keys(c.series).forEach(function (k) { c.series[k].forEach(function (p) { pts.push(p); }); });
    if (!pts.length) { return ""; }
    var xs = pts.map(function (p) { return p[0]; }), ys = pts.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + 1; }
    function sx(x) { return L + (W - L - R) * (x - x0) / (x1 - x0); }
    function sy(y) { return H - B - (H - T - B) * (y - y0) / (y1 - y0); }
    var svg = '<svg class="chart" width="' + W + '" height="' + H + '" role="img" aria-label="' + h(c.title) + '">';
    svg += '<line x1="' + L + '" y1="' + (H - B) + '" x2="' + (W - R) + '" y2="' + (H - B) + '" stroke="#bbb"/>';
    svg += '<line x1="' + L + '" y1="' + T + '" x2="' + L + '" y2="' + (H - B) + '" stroke="#bbb"/>';
    svg += '<text x="2" y="' + (T + 8) + '">' + h(+y1.toPrecision(3)) + '</text><text x="2" y="' + (H - B) + '">' + h(+y0.toPrecision(3)) + "</text>";
    svg += '<text x="' + L + '" y="' + (H - 6) + '">' + h(c.x) + " " + h(x0) + '</text><text x="' + (W - R - 40) + '" y="' + (H - 6) + '">' + h(x1) + "</text>";
    var legend = "";
    Object.keys(c.series).forEach(function (k, i) {
      var s = c.series[k], col = COLORS[i % COLORS.length];
      if (!s.length) { return; }
      svg += '<polyline fill="none" stroke="' + col + '" stroke-width="1.6" points="' + s.map(function (p) { return sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join(" ") + '"/>';
      if (s.length < 40) { s.forEach(function (p) { svg += '<circle r="2.2" fill="' + col + '" cx="' + sx(p[0]).toFixed(1) + '" cy="' + sy(p[1]).toFixed(1) + '"/>'; }); }
      legend += '<span><i style="border-color:' + col + ";background:" + col + '"></i>' + h(k) + "</span>";
    });
    return "<div><b>" + h(c.title) + "</b>" + svg + '</svg><div class="legend">' + legend + "</div></div>";
  }
  function setNav(name) {
    document.querySelectorAll("nav a").forEach(function (a) { a.classList.toggle("active", a.getAttribute("data-view") === name); });
  }
  function error(e) { view.innerHTML = '<p class="error">' + h(e.message || e) + "</p>"; }

  // The graph libraries (~0.5 MB) load only for the graph views, or once the first view is on screen, so the
  // catalogue does not wait for them.
  var GRAPH_SCRIPTS = ["/static/vendor/cytoscape.min.js", "/static/vendor/cytoscape-dagre.min.js", "/static/graph.js"];
  var graphLibsLoading = null;
  function graphLibs() {
    if (!graphLibsLoading) {
      graphLibsLoading = GRAPH_SCRIPTS.reduce(function (prev, src) {
        return prev.then(function () {
          return new Promise(function (ok, bad) {
            var el = document.createElement("script");
            el.src = src;
            el.onload = ok;
            el.onerror = function () { bad(new Error("could not load " + src)); };
            document.head.appendChild(el);
          });
        });
      }, Promise.resolve());
    }
    return graphLibsLoading;
  }

  // --- routing -------------------------------------------------------------------------------------------

  function parseHash() {
    var raw = (location.hash || "#/catalogue").slice(1), q = {}, qi = raw.indexOf("?");
    if (qi >= 0) {
      raw.slice(qi + 1).split("&").forEach(function (kv) { var p = kv.split("="); if (p[0]) { q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || ""); } });
      raw = raw.slice(0, qi);
    }
    var parts = raw.split("/").filter(Boolean);
    return { name: parts[0] || "catalogue", args: parts.slice(1), q: q };
  }

  function route() {
    var r = parseHash();
    setNav(r.name === "dataset" || r.name === "impact" || r.name === "compare" ? "" : r.name);
    var go = {
      catalogue: function () { return renderCatalogue(r.q); },
      graph: function () {  // the summary's dataset count decides whether superseded versions show at first
        return state.summaryReady.then(function () { return renderGraph(r.q.focus || null, +(r.q.depth || 2), r.q.select || null, r.q.impact || null, r.q.superseded); });
      },
      dataset: function () { var id = r.args.join("/"); return renderGraph(id, +(r.q.depth || 2), id, null); },
      compare: function () { return renderCompare(r.args[0], r.args[1], r.args[2], r.q); },
      runs: function () { return renderRuns(); },
      impact: function () { return renderImpact(r.args.join("/")); }
    }[r.name];
    if (r.name !== "graph" && r.name !== "dataset") { state.graphKey = null; state.cy = null; }
    document.body.setAttribute("data-ready", "0");
    return Promise.resolve(go ? go() : renderCatalogue({})).catch(error).then(function () {
      document.body.setAttribute("data-ready", "1");
      document.body.setAttribute("data-view", r.name);
      setTimeout(function () { graphLibs().catch(function () {}); }, 0);
    });
  }

  // --- summary header ------------------------------------------------------------------------------------

  function loadSummary() {
    return api("/api/summary").then(function (s) {
      state.summary = s;
      document.getElementById("root").textContent = s.data_root;
      var b = '<span class="badge">' + s.datasets + " datasets</span>";
      if (s.stale) { b += '<a class="badge stale" href="#/catalogue?filter=stale">' + s.stale + " stale</a>"; }
      if (s.incomplete) { b += '<a class="badge incomplete" href="#/catalogue?filter=incomplete">' + s.incomplete + " incomplete</a>"; }
      if (s.bad_event_lines) { b += '<span class="badge incomplete">' + s.bad_event_lines + " unreadable event lines</span>"; }
      document.getElementById("badges").innerHTML = b;
    });
  }

  // --- catalogue -----------------------------------------------------------------------------------------

  var COLS = [
    ["stage", "stage"], ["fingerprint", "fingerprint"], ["status", "state"], ["started_at", "created"], ["created_by", "by run"],
    ["rows_in", "rows in", "num"], ["rows_out", "rows out", "num"], ["dropped_total", "dropped (by reason)", "num"], ["size", "size", "num"],
    ["code_version", "code version"]
  ];

  function renderCatalogue(q) {
    state.limit = PAGE;
    return api("/api/datasets").then(function (rows) {
      var stages = Array.from(new Set(rows.map(function (r) { return r.stage; }))).sort();
      view.innerHTML =
        '<div class="toolbar"><input type="search" id="q" placeholder="search stage, fingerprint, run, path…" value="' + h(q.q || "") + '">' +
        '<select id="fstage"><option value="">every stage</option>' + stages.map(function (s) { return "<option" + (q.stage === s ? " selected" : "") + ">" + h(s) + "</option>"; }).join("") + "</select>" +
        '<select id="fkind"><option value="">datasets and models</option><option value="dataset">datasets</option><option value="model">models</option></select>' +
        '<select id="fstate"><option value="">any state</option><option value="current">current</option><option value="stale">stale</option>' +
        '<option value="superseded">superseded</option><option value="incomplete">incomplete or unfinished</option></select>' +
        '<span id="count" class="muted"></span></div><div id="tablewrap"></div>';
      if (q.filter) { document.getElementById("fstate").value = q.filter; }
      var draw = function () { state.limit = PAGE; drawTable(rows); };
      ["q", "fstage", "fkind", "fstate"].forEach(function (id) { document.getElementById(id).addEventListener("input", draw); });
      draw();
    });
  }

  function drawTable(rows) {
    var text = document.getElementById("q").value.trim().toLowerCase();
    var stage = document.getElementById("fstage").value, kind = document.getElementById("fkind").value, st = document.getElementById("fstate").value;
    var shown = rows.filter(function (r) {
      if (stage && r.stage !== stage) { return false; }
      if (kind && r.kind !== kind) { return false; }
      if (st === "stale" && !r.stale) { return false; }
      if (st === "superseded" && !r.superseded_by) { return false; }
      if (st === "current" && (r.stale || r.superseded_by || r.status !== "complete")) { return false; }
      if (st === "incomplete" && r.status === "complete") { return false; }
      if (text) {
        var hay = [r.id, r.status, r.path, r.code_version, r.created_by && r.created_by.job, r.created_by && r.created_by.flow_run_id].join(" ").toLowerCase();
        return text.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
      }
      return true;
    });
    var s = state.sort;
    shown.sort(function (a, b) {
      var x = a[s.key], y = b[s.key];
      if (s.key === "created_by") { x = x && x.at; y = y && y.at; }
      if (x === y) { return 0; }
      if (x === null || x === undefined) { return 1; }
      if (y === null || y === undefined) { return -1; }
      return (x < y ? -1 : 1) * (s.desc ? -1 : 1);
    });
    var total = shown.length;
    shown = shown.slice(0, state.limit);
    document.getElementById("count").textContent = total + " of " + rows.length + " match" +
      (total > shown.length ? " (first " + shown.length + " listed)" : "");
    var head = "<tr>" + COLS.map(function (c) {
      return '<th data-key="' + c[0] + '" class="' + (c[2] || "") + '">' + h(c[1]) + (s.key === c[0] ? (s.desc ? " ▼" : " ▲") : "") + "</th>";
    }).join("") + "</tr>";
    var body = shown.map(function (r) {
      var by = r.created_by;
      var run = by ? h(by.job) + (by.prefect_url ? ' <a href="' + h(by.prefect_url) + '" target="_blank" rel="noopener">Prefect ↗</a>' : "") : '<span class="muted">–</span>';
      var dropped = Object.keys(r.dropped || {}).filter(function (k) { return r.dropped[k]; }).map(function (k) { return h(k) + " " + fmtNum(r.dropped[k]); }).join(", ");
      return '<tr data-id="' + h(r.id) + '" class="' + (r.stale ? "stale " : "") + (r.superseded_by ? "superseded" : "") + '">' +
        "<td>" + h(r.stage) + "</td><td>" + dsLink(r.id, r.fingerprint) + "</td><td>" + badges(r) + "</td><td>" + fmtTime(r.started_at) + "</td>" +
        "<td>" + run + '</td><td class="num">' + fmtNum(r.rows_in) + '</td><td class="num">' + fmtNum(r.rows_out) + '</td><td class="num">' +
        (r.dropped_total ? fmtNum(r.dropped_total) + ' <span class="muted">(' + dropped + ")</span>" : "0") + '</td><td class="num">' + fmtSize(r.size) +
        '</td><td><code>' + h(r.code_version) + "</code></td></tr>";
    }).join("");
    var wrap = document.getElementById("tablewrap");
    wrap.innerHTML = '<table id="catalogue">' + head + body + "</table>" +
      (total > shown.length ? '<p><button class="btn" id="more">list all ' + total + "</button> <span class=\"muted\">or narrow the search</span></p>" : "");
    var more = document.getElementById("more");
    if (more) { more.addEventListener("click", function () { state.limit = Infinity; drawTable(rows); }); }
    wrap.querySelectorAll("th").forEach(function (th) {
      th.addEventListener("click", function () {
        var k = th.getAttribute("data-key");
        state.sort = { key: k, desc: state.sort.key === k ? !state.sort.desc : false };
        drawTable(rows);
      });
    });
  }

  // --- graph + node panel ----------------------------------------------------------------------------------

  // The whole-root graph of a big root starts with current versions only (a root that re-ran many times is
  // mostly history); one click shows the superseded versions too.
  var BIG_ROOT = 400;

  function renderGraph(focus, depth, select, impact, superseded) {
    setNav(focus ? "" : "graph");
    var total = state.summary ? state.summary.datasets : 0;
    var showOld = superseded === undefined ? total <= BIG_ROOT : superseded === "1";
    var key = (focus || "*") + "|" + depth + "|" + (impact || "") + "|" + showOld;
    var ready = Promise.resolve(state.cy);
    var r = parseHash();
    var sel = r.q.select || select;
    if (state.graphKey !== key || !document.getElementById("cy")) {
      state.graphKey = key;
      view.innerHTML =
        '<div class="toolbar">' + (focus ? "Neighbourhood of " + dsLink(focus) + ", " +
          '<label>depth <select id="depth">' + [1, 2, 3, 5, 10].map(function (d) { return "<option" + (d === depth ? " selected" : "") + ">" + d + "</option>"; }).join("") + "</select></label>" +
          ' <a class="btn" href="#/graph?select=' + h(focus) + '">whole data root</a>' : "Whole data root") +
        (impact ? ' — downstream of ' + dsLink(impact) + " highlighted" : "") +
        (focus ? "" : ' <label><input type="checkbox" id="superseded"' + (showOld ? " checked" : "") + '> superseded versions <span id="hidden" class="muted"></span></label>') +
        ' <input type="search" id="find" placeholder="find a node (stage or fingerprint)">' +
        '<span class="legend"><span><i style="border-color:#3367d6;background:#e8f0fe"></i>dataset</span><span><i style="border-color:#188038;background:#e6f4ea"></i>model</span>' +
        '<span><i style="border-color:#888;background:#eee"></i>raw input</span><span><i style="border-color:#e37400;border-style:dashed"></i>stale</span>' +
        '<span><i style="border-color:#9aa0a6;border-style:dashed;opacity:.55"></i>superseded</span></span></div>' +
        '<div class="split"><div id="cy"></div><aside id="panel"><p class="muted">loading…</p></aside></div>';
      if (focus) {
        document.getElementById("depth").addEventListener("change", function (e) {
          location.hash = "#/dataset/" + focus + "?depth=" + e.target.value;
        });
      }
      if (!focus) {
        document.getElementById("superseded").addEventListener("change", function (e) {
          location.hash = "#/graph?superseded=" + (e.target.checked ? "1" : "0") + (impact ? "&impact=" + impact : "");
        });
      }
      var url = "/api/graph" + (focus ? "?focus=" + encodeURIComponent(focus) + "&depth=" + depth : "?superseded=" + showOld);
      ready = Promise.all([api(url), graphLibs()]).then(function (res) {
        var g = res[0], t0 = performance.now();
        if (g.hidden_superseded) { document.getElementById("hidden").textContent = "(" + g.hidden_superseded + " hidden)"; }
        return window.EhrlmGraph.draw(document.getElementById("cy"), g).then(function (cy) {
          // the view counts as loaded once the browser has painted the graph (two frames after the layout)
          return new Promise(function (done) { requestAnimationFrame(function () { requestAnimationFrame(function () { done(cy); }); }); });
        }).then(function (cy) {
          state.cy = cy;
          state.layoutMs = performance.now() - t0;
          cy.on("tap", "node", function (e) {
            var n = e.target;
            if (n.data("kind") === "raw" || n.data("kind") === "missing") { return; }
            var base = focus ? "#/dataset/" + focus + "?depth=" + depth + "&select=" :
              "#/graph?" + (impact ? "impact=" + impact + "&" : "") + (superseded !== undefined ? "superseded=" + superseded + "&" : "") + "select=";
            location.hash = base + n.id();
          });
          document.getElementById("find").addEventListener("change", function (e) {
            var w = e.target.value.trim().toLowerCase();
            var hit = cy.nodes().filter(function (n) { return n.id().toLowerCase().indexOf(w) >= 0; });
            cy.elements().removeClass("faded");
            if (w && hit.length) { cy.elements().not(hit).addClass("faded"); cy.animate({ fit: { eles: hit, padding: 60 } }, { duration: 200 }); }
          });
          if (impact) {
            return api("/api/impact/" + impact).then(function (rows) {
              var ids = new Set(rows.map(function (r) { return r.id; }).concat([impact]));
              cy.nodes().forEach(function (n) { if (ids.has(n.id())) { n.addClass("impacted"); } else { n.addClass("faded"); } });
              return cy;
            });
          }
          return cy;
        });
      });
    }
    return ready.then(function (cy) {
      if (!cy) { return; }
      cy.nodes().unselect();
      if (sel) {
        var n = cy.getElementById(sel);
        if (n.length) { n.select(); }
        return renderPanel(sel);
      }
      document.getElementById("panel").innerHTML = '<p class="muted">Click a box to see its manifest: parameters, counts, code version, timings and the command that recomputes it.</p>';
    });
  }

  function renderPanel(id) {
    var panel = document.getElementById("panel");
    return api("/api/dataset/" + id).then(function (d) {
      var r = d.row, m = d.manifest || {};
      var others = d.versions.filter(function (v) { return v !== id; });
      var html = "<h2>" + h(r.stage) + ' <span class="fp">' + h(r.fingerprint) + "</span></h2>" + badges(r);
      if (r.problem) { html += '<p class="error">' + h(r.problem) + "</p>"; }
      if (d.stale_because.length) { html += '<p>Stale: built from ' + d.stale_because.map(function (s) { return dsLink(s); }).join(", ") + ", which has a newer fingerprint.</p>"; }
      if (r.superseded_by) { html += "<p>Superseded by " + dsLink(r.superseded_by) + " (same stage and kind of inputs, newer).</p>"; }
      html += '<p><a class="btn" href="#/dataset/' + h(id) + '">neighbourhood</a> <a class="btn" href="#/impact/' + h(id) + '" id="impact-link">impact (downstream)</a> ';
      if (others.length) {
        html += '<select id="cmp">' + others.map(function (o) { return '<option value="' + h(o.split("/")[1]) + '">' + h(o.split("/")[1]) + "</option>"; }).join("") +
          '</select> <a class="btn" id="compare-link" href="#/compare/' + h(r.stage) + "/" + h(r.fingerprint) + "/" + h(others[0].split("/")[1]) + '">compare</a>';
      }
      html += "</p>";
      html += "<h3>Created</h3>" + kvTable({ started_at: m.started_at, wall_seconds: m.wall_seconds, cpu_seconds: m.cpu_seconds, host: m.host, pid: m.pid, path: r.path, size: fmtSize(r.size) });
      if (r.created_by) {
        html += '<p>by run <code>' + h(r.created_by.run_id) + "</code> (" + h(r.created_by.job) + (r.created_by.flow ? ", flow " + h(r.created_by.flow) : "") + ")" +
          (r.created_by.prefect_url ? ' <a href="' + h(r.created_by.prefect_url) + '" target="_blank" rel="noopener">open in Prefect ↗</a>' : "") + "</p>";
      }
      html += "<h3>Parameters</h3>" + kvTable(m.params || {}, "params");
      html += "<h3>Rows</h3>" + kvTable({ rows_in: m.rows_in, rows_out: m.rows_out });
      if (m.dropped && Object.keys(m.dropped).length) { html += "<p><b>dropped by reason</b></p>" + barList(m.dropped); }
      d.charts.forEach(function (c) { html += lineChart(c); });
      var counts = m.counts || {}, plain = {};
      Object.keys(counts).forEach(function (k) {
        if (k === "history") { return; }
        if (isCountMap(counts[k])) { html += "<p><b>" + h(k.replace(/_/g, " ")) + "</b></p>" + barList(counts[k]); } else { plain[k] = counts[k]; }
      });
      html += "<h3>Counts</h3>" + kvTable(plain, "counts");
      html += "<h3>Inputs</h3>" + (d.inputs.length ? "<ul>" + d.inputs.map(function (i) {
        return "<li>" + h(i.name) + ": " + dsLink(i.id) + (i.present ? "" : ' <span class="badge incomplete">not in this data root</span>') +
          (i.superseded_by ? ' <span class="badge superseded">superseded by ' + h(i.superseded_by.split("/")[1]) + "</span>" : "") + "</li>";
      }).join("") + "</ul>" : '<p class="muted">none</p>');
      var ext = m.external_inputs || {};
      if (Object.keys(ext).length) { html += "<p><b>external inputs (by content hash)</b></p>" + kvTable(ext); }
      html += "<h3>Used by</h3>" + (d.consumers.length ? "<ul>" + d.consumers.map(function (c) { return "<li>" + dsLink(c.id) + (c.stale ? ' <span class="badge stale">stale</span>' : "") + "</li>"; }).join("") + "</ul>" : '<p class="muted">nothing yet</p>');
      html += "<h3>Code</h3>" + kvTable({ code_version: m.code_version });
      if (d.code_now && d.code_now.code_version) {
        var same = d.code_now.code_version === m.code_version;
        html += '<p id="code-now">' + (same ? "The checked-out code has the same version: recomputing gives this fingerprint again."
          : '<span class="badge stale">code changed</span> The checked-out code is <code>' + h(d.code_now.code_version) +
            "</code>: recomputing gives a new fingerprint.") + "</p>";
        if (Object.keys(d.code_now.dependencies || {}).length) {
          html += "<p><b>third-party dependencies, installed now</b> (their versions are part of the code version)</p>" + kvTable(d.code_now.dependencies);
        }
      }
      if (m.execution) { html += "<p><b>execution</b></p>" + kvTable(m.execution); }
      if (m.model) { html += "<p><b>model</b></p>" + kvTable(m.model); }
      if (m.versions || m.dependencies) { html += "<p><b>dependency versions</b></p>" + kvTable(m.versions || m.dependencies); }
      html += "<h3>Recompute</h3>";
      if (d.command) {
        html += '<pre class="cmd" id="command">' + h(d.command) + "</pre>";
        if (d.config_yaml) { html += '<a class="btn" href="/api/dataset/' + h(id) + '/config.yaml">download the settings file (--config)</a>'; }
      } else { html += '<p class="muted">no command: not a finished ehrlm dataset</p>'; }
      html += '<h3>Parts</h3><p class="muted">' + h((m.parts || []).join(", ")) + "</p>";
      panel.innerHTML = html;
      var cmp = document.getElementById("cmp");
      if (cmp) {
        cmp.addEventListener("change", function () {
          document.getElementById("compare-link").setAttribute("href", "#/compare/" + r.stage + "/" + r.fingerprint + "/" + cmp.value);
        });
      }
      if (state.cy) { state.cy.resize(); }
    });
  }

  // --- compare ---------------------------------------------------------------------------------------------

  function renderCompare(stage, a, b, q) {
    return Promise.all([api("/api/versions/" + stage), api("/api/compare/" + stage + "/" + a + "/" + b)]).then(function (res) {
      var versions = res[0], c = res[1], showAll = q.all === "1";
      function select(id, cur) {
        return '<select id="' + id + '">' + versions.map(function (v) {
          return '<option value="' + h(v.fingerprint) + '"' + (v.fingerprint === cur ? " selected" : "") + ">" + h(v.fingerprint) + " (" + fmtTime(v.started_at) + ")</option>";
        }).join("") + "</select>";
      }
      var html = "<h2>Compare two fingerprints of <code>" + h(stage) + "</code></h2>" +
        '<div class="toolbar">A ' + select("ca", a) + " B " + select("cb", b) +
        ' <label><input type="checkbox" id="all"' + (showAll ? " checked" : "") + "> show unchanged</label></div>";
      html += '<p id="why">' + (c.fingerprint_differs_by.length
        ? "The fingerprints differ because of: <b>" + c.fingerprint_differs_by.map(h).join(", ") + "</b>."
        : "Same parameters, code version and inputs: the same fingerprint would be computed (a forced rerun).") + "</p>";
      html += '<p>A: ' + dsLink(c.a.id) + " " + badges(c.a) + " · B: " + dsLink(c.b.id) + " " + badges(c.b) + "</p>";
      Object.keys(c.sections).forEach(function (s) {
        var rows = c.sections[s].filter(function (r) { return showAll || !r.same; });
        var changed = c.sections[s].filter(function (r) { return !r.same; }).length;
        html += '<h3>' + h(s.replace(/_/g, " ")) + ' <span class="muted">' + changed + " of " + c.sections[s].length + " differ</span></h3>";
        if (!rows.length) { html += '<p class="muted">no differences</p>'; return; }
        html += '<table class="diff" data-section="' + h(s) + '"><tr><th>key</th><th>A ' + h(c.a.fingerprint.slice(0, 8)) + "</th><th>B " + h(c.b.fingerprint.slice(0, 8)) + "</th></tr>" +
          rows.map(function (r) {
            var fmt = function (v) { return s === "inputs" ? dsLink(v) : fmtVal(v); };
            return '<tr class="' + (r.same ? "" : "changed") + '"><td class="key">' + h(r.key) + "</td><td>" + fmt(r.a) + "</td><td>" + fmt(r.b) + "</td></tr>";
          }).join("") + "</table>";
      });
      view.innerHTML = '<div class="page">' + html + "</div>";
      var go = function () {
        location.hash = "#/compare/" + stage + "/" + document.getElementById("ca").value + "/" + document.getElementById("cb").value +
          (document.getElementById("all").checked ? "?all=1" : "");
      };
      ["ca", "cb", "all"].forEach(function (id) { document.getElementById(id).addEventListener("change", go); });
    });
  }

  // --- runs ------------------------------------------------------------------------------------------------

  function renderRuns() {
    return api("/api/runs").then(function (runs) {
      if (!runs.length) { view.innerHTML = '<p class="muted">No events in _lineage/openlineage.jsonl yet: runs appear here once a flow computes something.</p>'; return; }
      var html = '<h2>Runs <span class="muted">(from the OpenLineage event log, newest first; a run that reused everything emits no event)</span></h2>';
      html += timeline(runs.slice(0, 60));
      runs.forEach(function (run) {
        var t0 = Date.parse(run.started || run.ended), t1 = Date.parse(run.ended || run.started);
        var span = Math.max(1, t1 - t0);
        html += '<div class="run" id="run-' + h(run.id) + '" data-run="' + h(run.id) + '"><h3>' + h(run.flow) + ' <span class="badge ' + h(run.state) + '">' + h(run.state) + "</span> " +
          '<span class="muted">' + fmtTime(run.started) + " · " + ((t1 - t0) / 1000).toFixed(1) + " s · run " + h(run.id) + "</span>" +
          (run.prefect_url ? ' <a href="' + h(run.prefect_url) + '" target="_blank" rel="noopener">Prefect ↗</a>' : "") + "</h3>";
        html += '<div class="gantt">' + run.steps.map(function (s) {
          var a = Date.parse(s.started || s.ended), b = Date.parse(s.ended || s.started);
          if (isNaN(b)) { b = t1; }
          return '<div class="row"><span>' + h(s.job) + (s.error ? ' <span class="error">' + h(s.error) + "</span>" : "") + '</span><div class="track"><div class="seg ' + h(s.state) +
            '" style="left:' + (100 * (a - t0) / span).toFixed(2) + "%;width:" + (100 * (b - a) / span).toFixed(2) + '%"></div></div><span class="num">' +
            ((b - a) / 1000).toFixed(1) + " s</span></div>";
        }).join("") + "</div>";
        html += "<p><b>created</b> " + (run.created.length ? run.created.map(function (i) { return dsLink(i); }).join(", ") : '<span class="muted">none</span>') + "</p>";
        if (run.reused.length) { html += "<p><b>reused</b> " + run.reused.map(function (i) { return dsLink(i); }).join(", ") + "</p>"; }
        html += "</div>";
      });
      view.innerHTML = html;
      view.querySelectorAll("#timeline rect[data-run]").forEach(function (el) {
        el.addEventListener("click", function () { document.getElementById("run-" + el.getAttribute("data-run")).scrollIntoView({ behavior: "smooth" }); });
      });
    });
  }

  /* All runs on one time axis (newest on top): when things ran, how long, and what overlapped. */
  function timeline(runs) {
    var t = function (v) { return Date.parse(v); };
    var starts = runs.map(function (r) { return t(r.started || r.ended); }), ends = runs.map(function (r) { return t(r.ended || r.started); });
    var t0 = Math.min.apply(null, starts), t1 = Math.max.apply(null, ends), span = Math.max(1, t1 - t0);
    var W = 900, L = 160, row = 14, H = runs.length * row + 24;
    var svg = '<svg id="timeline" width="' + (W + L + 10) + '" height="' + H + '" role="img" aria-label="runs on a time axis">';
    runs.forEach(function (r, i) {
      var x = L + W * (starts[i] - t0) / span, w = Math.max(2, W * (ends[i] - starts[i]) / span), y = i * row + 2;
      var col = r.state === "FAIL" || r.state === "ABORT" ? "#c5221f" : r.state === "RUNNING" ? "#fbbc04" : "#3367d6";
      svg += '<text x="0" y="' + (y + 10) + '" font-size="11">' + h(r.flow) + '</text><rect data-run="' + h(r.id) + '" style="cursor:pointer" x="' + x.toFixed(1) + '" y="' + y +
        '" width="' + w.toFixed(1) + '" height="' + (row - 4) + '" fill="' + col + '"><title>' + h(r.flow) + " " + fmtTime(r.started) + " (" + r.created.length + " created)</title></rect>";
    });
    svg += '<text x="' + L + '" y="' + (H - 4) + '" font-size="11" fill="#5f6368">' + fmtTime(new Date(t0).toISOString()) + '</text>' +
      '<text x="' + (L + W) + '" y="' + (H - 4) + '" font-size="11" fill="#5f6368" text-anchor="end">' + fmtTime(new Date(t1).toISOString()) + "</text></svg>";
    return '<div class="run">' + svg + "</div>";
  }

  // --- impact ----------------------------------------------------------------------------------------------

  function renderImpact(id) {
    return api("/api/impact/" + id).then(function (rows) {
      var models = rows.filter(function (r) { return r.kind === "model"; }).length;
      var html = "<h2>Impact of " + dsLink(id) + "</h2><p>" + rows.length + " datasets downstream, " + models +
        " of them models: what is affected if this dataset is withdrawn.</p>" +
        '<p><a class="btn" id="csv" href="/api/impact/' + h(id) + '?format=csv" download>export CSV</a> ' +
        '<a class="btn" id="json" href="/api/impact/' + h(id) + '?format=json" download="impact-' + h(id.replace("/", "-")) + '.json">export JSON</a> ' +
        '<a class="btn" href="#/graph?impact=' + h(id) + '">show on the graph</a></p>';
      html += '<table id="impact"><tr><th>stage</th><th>fingerprint</th><th>kind</th><th class="num">steps away</th><th>state</th><th>created</th><th>path</th></tr>' +
        rows.map(function (r) {
          return '<tr data-id="' + h(r.id) + '"><td>' + h(r.stage) + "</td><td>" + dsLink(r.id, r.fingerprint) + "</td><td>" + h(r.kind) + '</td><td class="num">' + r.distance +
            "</td><td>" + badges(r) + "</td><td>" + fmtTime(r.started_at) + '</td><td class="muted">' + h(r.path) + "</td></tr>";
        }).join("") + "</table>";
      view.innerHTML = '<div class="page">' + html + "</div>";
    });
  }

  window.addEventListener("hashchange", route);
  state.summaryReady = loadSummary().catch(function () {});
  route();
})();
