/* The lineage graph: cytoscape.js + the dagre layout, one drawing for the web UI and for the headless
   `ehrlm lineage graph` page, so both place boxes the same way. Input is the JSON of
   pipeline.lineage_ui.catalog.Catalog.graph(): {nodes: [{id, stage, fingerprint, kind, status, stale,
   superseded, label}], edges: [{source, target, name}]}. */
(function () {
  "use strict";

  var STYLE = [
    { selector: "node", style: {
        "shape": "round-rectangle", "width": 170, "height": 46, "label": "data(label)", "text-wrap": "wrap",
        "text-valign": "center", "text-halign": "center", "font-size": 11, "font-family": "sans-serif",
        "background-color": "#e8f0fe", "border-width": 1.5, "border-color": "#3367d6", "color": "#1a1a1a" } },
    { selector: "node[kind = 'model']", style: { "background-color": "#e6f4ea", "border-color": "#188038", "shape": "cut-rectangle" } },
    { selector: "node[kind = 'raw']", style: { "background-color": "#eeeeee", "border-color": "#888888", "shape": "barrel" } },
    { selector: "node[kind = 'missing']", style: { "background-color": "#ffffff", "border-color": "#c5221f", "border-style": "dashed" } },
    { selector: "node[status = 'incomplete'], node[status = 'unfinished']", style: { "border-color": "#c5221f", "border-style": "dotted", "border-width": 2 } },
    { selector: "node[?stale]", style: { "border-color": "#e37400", "border-width": 3, "border-style": "dashed" } },
    { selector: "node[?superseded]", style: { "opacity": 0.55, "border-style": "dashed" } },
    { selector: "node.focus", style: { "border-width": 4, "border-color": "#202124" } },
    { selector: "node:selected", style: { "border-width": 4, "border-color": "#a142f4", "border-style": "solid" } },
    { selector: "node.impacted", style: { "background-color": "#fce8e6", "border-color": "#c5221f" } },
    { selector: "node.faded, edge.faded", style: { "opacity": 0.2 } },
    { selector: "edge", style: {
        "width": 1.2, "line-color": "#777", "target-arrow-color": "#777", "target-arrow-shape": "triangle",
        "curve-style": "bezier", "arrow-scale": 0.8 } }
  ];

  var LAYOUT = { name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 70, edgeSep: 8, animate: false, fit: true, padding: 20 };

  function elements(graph) {
    var els = [];
    graph.nodes.forEach(function (n) {
      els.push({ group: "nodes", data: { id: n.id, label: n.label, kind: n.kind, status: n.status, stage: n.stage,
        fingerprint: n.fingerprint, stale: !!n.stale, superseded: !!n.superseded } });
    });
    graph.edges.forEach(function (e, i) {
      els.push({ group: "edges", data: { id: "e" + i, source: e.source, target: e.target, name: e.name } });
    });
    return els;
  }

  /* Draw `graph` into `container`; resolves with the cytoscape instance once the layout has run. */
  function draw(container, graph, opts) {
    opts = opts || {};
    var cy = window.cytoscape({
      container: container, elements: elements(graph), style: STYLE, layout: { name: "preset" },
      wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 3, textureOnViewport: true, hideEdgesOnViewport: graph.nodes.length > 400,
      pixelRatio: 1
    });
    if (graph.focus) { cy.getElementById(graph.focus).addClass("focus"); }
    return new Promise(function (resolve) {
      var layout = cy.layout(LAYOUT);
      layout.one("layoutstop", function () {
        if (cy.zoom() > (opts.maxFitZoom || 1.1)) { cy.zoom(opts.maxFitZoom || 1.1); cy.center(); }
        resolve(cy);
      });
      layout.run();
    });
  }

  window.EhrlmGraph = { STYLE: STYLE, LAYOUT: LAYOUT, elements: elements, draw: draw };
})();
