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
        "curve-style": "straight", "arrow-scale": 0.8 } }
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
    // laid out headless, then mounted: measuring every label on a live canvas first costs more than the layout
    var cy = window.cytoscape({
      headless: true, styleEnabled: true, elements: elements(graph), style: STYLE, layout: { name: "preset" },
      wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 3, textureOnViewport: true, hideEdgesOnViewport: graph.nodes.length > 400,
      pixelRatio: 1
    });
    if (graph.focus) { cy.getElementById(graph.focus).addClass("focus"); }
    // a big graph fitted to the screen has unreadable labels: skip drawing them until zoomed in (much faster)
    if (graph.nodes.length > 300) { cy.style().selector("node").style("min-zoomed-font-size", 6).update(); }
    return new Promise(function (resolve) {
      layoutComponents(cy);
      cy.mount(container);
      if (opts.fit !== false) { cy.fit(undefined, LAYOUT.padding); }
      if (cy.zoom() > (opts.maxFitZoom || 1.1)) { cy.zoom(opts.maxFitZoom || 1.1); cy.center(); }
      resolve(cy);
    });
  }

  /* dagre on each connected component (one corpus's chains, say), the components then stacked top to
     bottom, largest first. dagre's cost grows faster than linearly with the graph, so a data root of many
     chains lays out several times faster than in one dagre run, and each chain reads left to right. */
  function layoutComponents(cy) {
    var comps = cy.elements().components().sort(function (a, b) { return b.nodes().length - a.nodes().length; });
    var y = 0, gap = 60;
    cy.startBatch();
    comps.forEach(function (comp) {
      // network simplex ranks best but grows fast with size; longest path is near-linear for big chains
      comp.layout(Object.assign({}, LAYOUT, { fit: false, ranker: comp.nodes().length > 150 ? "longest-path" : "network-simplex" })).run();
      var bb = comp.nodes().boundingBox();
      var dx = -bb.x1, dy = y - bb.y1;
      comp.nodes().positions(function (n) { var p = n.position(); return { x: p.x + dx, y: p.y + dy }; });
      y += bb.h + gap;
    });
    cy.endBatch();
  }

  window.EhrlmGraph = { STYLE: STYLE, LAYOUT: LAYOUT, elements: elements, draw: draw };
})();
