// The timeline page: reads the run's data (inline JSON) and draws it on
// canvases: lanes per node and client over virtual time, messages as arrows,
// faults as shaded spans, the violation marked; zoom, pan and hover. Plain
// JavaScript, no library: the page must open with no network.
"use strict";

// Errors show on the page itself, so that nobody misses a broken page (and
// a headless browser's DOM dump shows them).
window.addEventListener("error", function (event) {
  const box = document.getElementById("errors");
  box.hidden = false;
  box.textContent += "page error: " + event.message + " (line " + event.lineno + ")\n";
});

(function () {
  const D = JSON.parse(document.getElementById("timeline-data").textContent);
  const N = D.node_count;
  const LANES = D.node_count + D.client_count;
  const END = Math.max(D.end_us, 1);

  // ---------------------------------------------------------------- helpers

  function $(id) { return document.getElementById(id); }
  function laneName(lane) { return lane < N ? "n" + (lane + 1) : "c" + (lane - N); }
  function fmtTime(us) {
    const s = Math.floor(us / 1e6), rest = String(us % 1e6).padStart(6, "0");
    return s + "." + rest + "s";
  }
  function fmtSpan(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(us % 1e6 ? 3 : 0) + "s";
    if (us >= 1e3) return (us / 1e3).toFixed(us % 1e3 ? 1 : 0) + "ms";
    return us + "us";
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // The last item of sorted `items` whose time (by `at`) is <= t, or null.
  function lastAtOrBefore(items, t, at) {
    let lo = 0, hi = items.length - 1, found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (at(items[mid]) <= t) { found = items[mid]; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function distanceToSegment(px, py, x1, y1, x2, y2) {
    const dx = x2 - x1, dy = y2 - y1, len = dx * dx + dy * dy;
    let k = len ? ((px - x1) * dx + (py - y1) * dy) / len : 0;
    k = Math.max(0, Math.min(1, k));
    return Math.hypot(px - x1 - k * dx, py - y1 - k * dy);
  }

  // ------------------------------------------------------ derived from data

  // Per node: [{from, to, row}] where row is a status row.
  const roleSpans = [];
  // Per node: [[at, commit]].
  const commits = [];
  // Per node: [{from, to}] paused, and [{from, to, cuts}] cut off.
  const pausedSpans = [], isolatedSpans = [];
  for (let i = 0; i < N; i++) { roleSpans.push([]); commits.push([]); pausedSpans.push([]); isolatedSpans.push([]); }
  (function derive() {
    const last = new Array(N).fill(null);
    for (const row of D.statuses) {
      const node = row[1] - 1;
      if (last[node]) last[node].to = row[0];
      last[node] = { from: row[0], to: END, row: row };
      roleSpans[node].push(last[node]);
    }
    for (const row of D.commits) commits[row[1] - 1].push([row[0], row[2]]);
    const since = new Array(N).fill(null);
    for (const row of D.pauses) {
      const node = row[1] - 1;
      if (row[2]) { since[node] = row[0]; } else if (since[node] !== null) {
        pausedSpans[node].push({ from: since[node], to: row[0] }); since[node] = null;
      }
    }
    since.forEach(function (from, node) { if (from !== null) pausedSpans[node].push({ from: from, to: END }); });
    D.links.forEach(function (link, i) {
      const to = i + 1 < D.links.length ? D.links[i + 1].at_us : END;
      link.to = to;
      for (let node = 1; node <= N; node++) {
        const cuts = link.cuts.filter(function (c) { return c[0] === node || c[1] === node; });
        if (!cuts.length) continue;
        // Cut off from a majority: it cannot send to, or hear from, enough
        // nodes (itself included) to win an election or commit.
        const sendsTo = N - cuts.filter(function (c) { return c[0] === node; }).length;
        const hears = N - cuts.filter(function (c) { return c[1] === node; }).length;
        const minority = 2 * Math.min(sendsTo, hears) <= N;
        isolatedSpans[node - 1].push({ from: link.at_us, to: to, cuts: cuts, link: link, minority: minority });
      }
    });
  })();

  const messages = D.messages.map(function (m) {
    const copies = m[7].map(function (c) { return { due: c[0], end: c[1], arrival: D.arrivals[c[2]], waited: c[3] === 1 }; });
    const reach = copies.length ? Math.max.apply(null, copies.map(function (c) { return c.end; })) : m[4] + D.nominal_delay_us;
    return { number: m[0], from: m[1], to: m[2], kind: D.kinds[m[3]], sent: m[4], fate: D.fates[m[5]],
             label: m[6], copies: copies, reach: reach };
  });
  const firstKeptMessage = messages.length ? messages[0].sent : 0;
  const messagesCut = D.counts.length && D.counts[D.counts.length - 1].sent > messages.length;

  const opsByClient = [];
  for (let c = 0; c < D.client_count; c++) opsByClient.push([]);
  for (const op of D.operations) if (op[1] < D.client_count) opsByClient[op[1]].push(op);

  // ------------------------------------------------------------ header info

  $("title").textContent = "raftsim timeline: " + D.title;
  const outcome = $("outcome");
  outcome.className = D.outcome.kind;
  outcome.textContent = D.outcome.text;
  $("params").textContent = D.header.join("\n");
  for (const note of D.notes) $("notes").appendChild(el("li", {}, note));

  // ---------------------------------------------------------- a time view

  // A canvas showing [t0, t1] of virtual time right of a label column, with
  // wheel zoom, drag pan, shift-drag zoom to a stretch, and hover.
  function TimeView(canvas, left, draw, hover) {
    const view = { canvas: canvas, left: left, t0: 0, t1: END, min: 0, max: END, width: 0, height: 0 };
    let drag = null;
    view.x = function (t) { return left + (t - view.t0) / (view.t1 - view.t0) * (view.width - left - 8); };
    view.t = function (x) { return view.t0 + (x - left) / (view.width - left - 8) * (view.t1 - view.t0); };
    view.set = function (t0, t1) {
      const span = Math.max(t1 - t0, 20);
      const full = view.max - view.min;
      if (span >= full) { t0 = view.min; t1 = view.max; } else {
        t0 = Math.max(view.min, Math.min(t0, view.max - span)); t1 = t0 + span;
      }
      view.t0 = t0; view.t1 = t1;
      view.redraw();
      if (view.onchange) view.onchange();
    };
    view.zoom = function (factor, atT) {
      const t = atT === undefined ? (view.t0 + view.t1) / 2 : atT;
      view.set(t - (t - view.t0) * factor, t + (view.t1 - t) * factor);
    };
    view.redraw = function () {
      const ratio = window.devicePixelRatio || 1;
      view.width = canvas.clientWidth;
      canvas.width = Math.round(view.width * ratio);
      canvas.height = Math.round(view.height * ratio);
      canvas.style.height = view.height + "px";
      const ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, view.width, view.height);
      draw(ctx, view);
      if (drag && drag.shift) {
        ctx.fillStyle = "rgba(60,90,200,0.15)";
        ctx.fillRect(Math.min(drag.x0, drag.x), 0, Math.abs(drag.x - drag.x0), view.height);
      }
    };
    canvas.addEventListener("wheel", function (event) {
      event.preventDefault();
      const x = event.offsetX;
      view.zoom(event.deltaY > 0 ? 1.25 : 0.8, x > left ? view.t(x) : undefined);
    }, { passive: false });
    canvas.addEventListener("mousedown", function (event) {
      drag = { x0: event.offsetX, x: event.offsetX, t0: view.t0, t1: view.t1, shift: event.shiftKey };
      canvas.classList.add("dragging");
    });
    window.addEventListener("mouseup", function () {
      if (!drag) return;
      const done = drag; drag = null;
      canvas.classList.remove("dragging");
      if (done.shift && Math.abs(done.x - done.x0) > 4) {
        view.set(view.t(Math.min(done.x, done.x0)), view.t(Math.max(done.x, done.x0)));
      } else { view.redraw(); }
    });
    canvas.addEventListener("mousemove", function (event) {
      if (drag) {
        drag.x = event.offsetX;
        if (drag.shift) { view.redraw(); return; }
        const dt = (drag.x - drag.x0) / (view.width - left - 8) * (drag.t1 - drag.t0);
        view.set(drag.t0 - dt, drag.t1 - dt);
        return;
      }
      showTip(hover(view, event.offsetX, event.offsetY), event);
    });
    canvas.addEventListener("mouseleave", function () { showTip(null); });
    canvas.addEventListener("dblclick", function (event) { view.zoom(0.5, view.t(event.offsetX)); });
    window.addEventListener("resize", function () { view.redraw(); });
    return view;
  }

  function showTip(text, event) {
    const tip = $("tip");
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = event.clientY + 16 + tip.offsetHeight > window.innerHeight ? event.clientY - tip.offsetHeight - 10 : event.clientY + 16;
    tip.style.left = Math.max(0, x) + "px";
    tip.style.top = Math.max(0, y) + "px";
  }

  function drawAxis(ctx, view, top, bottom) {
    const span = view.t1 - view.t0, target = span / Math.max(2, (view.width - view.left) / 110);
    let step = 1;
    while (step * 10 <= target) step *= 10;
    if (step * 5 <= target) step *= 5; else if (step * 2 <= target) step *= 2;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const x = view.x(t);
      ctx.fillStyle = "#eee"; ctx.fillRect(x, top + 16, 1, bottom - top - 16);
      ctx.fillStyle = "#666"; ctx.fillText(fmtSpan(t), x + 2, top + 3);
    }
  }

  // --------------------------------------------------------- the timeline

  const AXIS_H = 22, TRAFFIC_H = 30, NETWORK_H = 20, NODE_H = 34, CLIENT_H = 18, LEFT = 70;
  const laneTop = [];
  (function layout() {
    let y = AXIS_H + TRAFFIC_H + NETWORK_H;
    for (let lane = 0; lane < LANES; lane++) { laneTop.push(y); y += lane < N ? NODE_H : CLIENT_H; }
    laneTop.push(y);
  })();
  function laneMid(lane) { return (laneTop[lane] + laneTop[lane + 1]) / 2; }

  const kindShown = {};
  D.kinds.forEach(function (kind) { kindShown[kind] = true; });
  let onlyFaulted = false;
  const ROLE_FILL = { leader: "#9fdc9f", candidate: "#ffe08a", follower: "#dde6f0", down: "#555" };
  const KIND_COLOR = {
    vote: "rgba(30,80,210,0.85)", "vote-resp": "rgba(30,80,210,0.55)", app: "rgba(20,20,20,0.6)",
    "app-resp": "rgba(20,20,20,0.35)", heartbeat: "rgba(120,120,120,0.3)", "heartbeat-resp": "rgba(120,120,120,0.2)",
    request: "rgba(0,140,150,0.7)", reply: "rgba(0,140,150,0.5)"
  };
  let drawnSegments = [];
  let denseNote = "";
  let hovered = null;

  // Lost on its way (dropped, cut, held, or lost as it arrived).
  function lost(m) {
    return !m.copies.length || m.copies.some(function (c) { return c.arrival !== "delivered" && c.arrival !== "in-flight"; });
  }

  function faulted(m) {
    return m.fate !== "once" || m.copies.some(function (c) { return c.arrival !== "delivered" || c.waited; });
  }

  function drawLanes(ctx, view) {
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#444";
    ctx.fillText("traffic", 6, AXIS_H + TRAFFIC_H / 2);
    ctx.fillText("network", 6, AXIS_H + TRAFFIC_H + NETWORK_H / 2);
    for (let lane = 0; lane < LANES; lane++) {
      ctx.fillStyle = lane % 2 ? "#fcfcfc" : "#f4f4f4";
      ctx.fillRect(0, laneTop[lane], view.width, laneTop[lane + 1] - laneTop[lane]);
      ctx.fillStyle = "#222";
      ctx.fillText(laneName(lane), 8, laneMid(lane));
    }
  }

  function drawTraffic(ctx, view) {
    const top = AXIS_H, h = TRAFFIC_H - 4, t = D.traffic;
    const max = Math.max(1, Math.max.apply(null, t.sent.concat([1])));
    for (let i = 0; i < t.sent.length; i++) {
      const x0 = view.x(i * t.bucket_us), x1 = view.x((i + 1) * t.bucket_us);
      if (x1 < view.left || x0 > view.width) continue;
      const a = Math.max(x0, view.left), w = Math.max(1, x1 - a - 0.5);
      const hs = h * t.sent[i] / max, hl = h * t.lost[i] / max;
      ctx.fillStyle = "#9ab"; ctx.fillRect(a, top + h - hs + 2, w, hs);
      ctx.fillStyle = "#e33"; ctx.fillRect(a, top + h - hl + 2, w, hl);
    }
  }

  function drawNetwork(ctx, view) {
    const top = AXIS_H + TRAFFIC_H + 2, h = NETWORK_H - 4;
    for (const link of D.links) {
      if (!link.cuts.length && link.description === "none") continue;
      const x0 = Math.max(view.left, view.x(link.at_us)), x1 = Math.min(view.width, view.x(link.to));
      if (x1 <= x0) continue;
      // Red: links cut; amber: links that deliver late or clocks past their bound.
      const cut = link.cuts.length > 0;
      ctx.fillStyle = cut ? "rgba(230,50,50,0.25)" : "rgba(240,170,40,0.25)";
      ctx.fillRect(x0, top, x1 - x0, h);
      label(ctx, link.description, x0 + 3, top + h / 2, x1 - x0 - 6, cut ? "#900" : "#850");
    }
  }

  function label(ctx, text, x, y, room, color) {
    if (room < 14) return;
    ctx.fillStyle = color;
    let shown = text;
    while (shown.length > 1 && ctx.measureText(shown).width > room) shown = shown.slice(0, -2);
    if (shown !== text) shown = shown.slice(0, -1) + "\u2026";
    if (ctx.measureText(shown).width <= room) ctx.fillText(shown, x, y);
  }

  function roleText(row) {
    if (row[2] === "down") return "down";
    const head = { leader: "L", candidate: "C", follower: "F" }[row[2]] + " t" + row[3];
    return row[2] === "follower" && row[4] ? head + " \u2192n" + row[4] : head;
  }

  function drawNodes(ctx, view) {
    for (let node = 0; node < N; node++) {
      const top = laneTop[node] + 3, h = NODE_H - 6;
      for (const span of roleSpans[node]) {
        const x0 = Math.max(view.left, view.x(span.from)), x1 = Math.min(view.width, view.x(span.to));
        if (x1 <= x0) continue;
        ctx.fillStyle = ROLE_FILL[span.row[2]];
        ctx.fillRect(x0, top, x1 - x0, h);
        ctx.fillStyle = "rgba(0,0,0,0.25)"; ctx.fillRect(x0, top, 1, h);
        label(ctx, roleText(span.row), x0 + 4, top + h / 2, x1 - x0 - 6, span.row[2] === "down" ? "#fff" : "#222");
      }
      for (const span of pausedSpans[node]) shade(ctx, view, span, top, h, "rgba(90,120,255,0.35)");
      for (const span of isolatedSpans[node]) {
        if (span.minority) shade(ctx, view, span, top + h - 5, 5, "#e33");
        else shade(ctx, view, span, top + h - 2, 2, "rgba(230,50,50,0.45)");
      }
    }
  }

  function shade(ctx, view, span, top, h, color) {
    const x0 = Math.max(view.left, view.x(span.from)), x1 = Math.min(view.width, view.x(span.to));
    if (x1 <= x0) return;
    ctx.fillStyle = color; ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
  }

  function drawOperations(ctx, view) {
    const colors = { ok: "#8cd48c", fail: "#bbb", unknown: "#f5b860", pending: "#f5b860" };
    ctx.font = "11px system-ui, sans-serif";
    opsByClient.forEach(function (ops, client) {
      const lane = N + client, top = laneTop[lane] + 3, h = CLIENT_H - 6;
      for (const op of ops) {
        const end = op[3] === null ? END : op[3];
        const x0 = Math.max(view.left, view.x(op[2])), x1 = Math.min(view.width, view.x(end));
        if (x1 < view.left || x0 > view.width) continue;
        ctx.fillStyle = colors[op[6]];
        ctx.fillRect(x0, top, Math.max(2, x1 - x0), h);
        if (x1 - x0 > 4) { ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.strokeRect(x0 + 0.5, top + 0.5, x1 - x0 - 1, h - 1); }
        label(ctx, op[4] + (op[5] ? " \u2192 " + op[5] : ""), x0 + 3, top + h / 2, x1 - x0 - 5, "#222");
      }
    });
  }

  // One message: a line per copy from its sender at send time to its
  // receiver at arrival; a lost one ends in a cross.
  function drawMessage(ctx, view, m, emphasis) {
    const y0 = laneMid(m.from), y1 = laneMid(m.to), x0 = view.x(m.sent);
    let color = KIND_COLOR[m.kind] || "#333";
    if (m.fate === "duplicated") color = "rgba(235,130,0,0.65)";
    ctx.lineWidth = emphasis ? 3 : 1;
    if (!m.copies.length) {
      const lostColor = { held: "rgba(150,50,200,0.9)", cut: "rgba(220,30,30,0.4)" }[m.fate] || "rgba(220,30,30,0.9)";
      const x1 = view.x(m.sent + D.nominal_delay_us * 0.6), y = y0 + (y1 - y0) * 0.6;
      line(ctx, x0, y0, x1, y, lostColor, [4, 3]);
      if (m.fate === "held") { ctx.fillStyle = lostColor; ctx.fillRect(x1 - 3, y - 3, 6, 6); } else { cross(ctx, x1, y, lostColor); }
      drawnSegments.push({ x1: x0, y1: y0, x2: x1, y2: y, m: m });
      return;
    }
    for (const copy of m.copies) {
      const xd = view.x(copy.due), xe = view.x(copy.end);
      const lostHere = copy.arrival !== "delivered" && copy.arrival !== "in-flight";
      const c = !lostHere ? color : copy.arrival === "lost-cut" ? "rgba(220,30,30,0.4)" : "rgba(220,30,30,0.9)";
      line(ctx, x0, y0, xd, y1, c, copy.arrival === "in-flight" ? [2, 3] : null);
      if (copy.waited) line(ctx, xd, y1, xe, y1, "rgba(90,120,255,0.9)", [2, 2]);
      if (lostHere) cross(ctx, xe, y1, c); else if (xd - x0 > 14 || Math.abs(y1 - y0) > 14) arrowHead(ctx, x0, y0, xd, y1, c);
      drawnSegments.push({ x1: x0, y1: y0, x2: xd, y2: y1, m: m });
    }
  }

  function line(ctx, x0, y0, x1, y1, color, dash) {
    ctx.strokeStyle = color;
    ctx.setLineDash(dash || []);
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    ctx.setLineDash([]);
  }
  function cross(ctx, x, y, color) {
    ctx.strokeStyle = color; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x - 4, y - 4); ctx.lineTo(x + 4, y + 4); ctx.moveTo(x + 4, y - 4); ctx.lineTo(x - 4, y + 4); ctx.stroke();
    ctx.lineWidth = 1;
  }
  function arrowHead(ctx, x0, y0, x1, y1, color) {
    const a = Math.atan2(y1 - y0, x1 - x0);
    ctx.fillStyle = color;
    ctx.beginPath(); ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 7 * Math.cos(a - 0.4), y1 - 7 * Math.sin(a - 0.4));
    ctx.lineTo(x1 - 7 * Math.cos(a + 0.4), y1 - 7 * Math.sin(a + 0.4));
    ctx.closePath(); ctx.fill();
  }

  function drawMessages(ctx, view) {
    drawnSegments = [];
    if (messagesCut && firstKeptMessage > view.t0) {
      const x = Math.min(view.width, view.x(firstKeptMessage));
      ctx.fillStyle = "rgba(0,0,0,0.04)";
      ctx.fillRect(view.left, laneTop[0], x - view.left, laneTop[LANES] - laneTop[0]);
      label(ctx, "messages before here are counted, not drawn (see the notes)", view.left + 4, laneTop[0] - 6, x - view.left - 8, "#888");
    }
    const visible = messages.filter(function (m) {
      return m.reach >= view.t0 && m.sent <= view.t1 && kindShown[m.kind] && (!onlyFaulted || faulted(m));
    });
    // Past about one message per pixel column, lines are a blur: then only
    // the lost ones are drawn, and the page says so.
    const dense = visible.length > 1.5 * (view.width - view.left);
    denseNote = dense ? "; " + visible.length + " messages in view: only the lost ones are drawn, zoom in to see each one" : "";
    ctx.save();
    ctx.beginPath(); ctx.rect(view.left, 0, view.width - view.left, view.height); ctx.clip();
    // Faulted messages last, so that they are drawn over the rest.
    for (const pass of [false, true]) {
      for (const m of visible) {
        if (faulted(m) !== pass || (dense && !lost(m))) continue;
        drawMessage(ctx, view, m, false);
      }
    }
    if (hovered && hovered.m) drawMessage(ctx, view, hovered.m, true);
    ctx.restore();
  }

  function drawMarks(ctx, view, bottom) {
    if (D.heal_us !== null) {
      const x = view.x(D.heal_us);
      if (x >= view.left) {
        line(ctx, x, AXIS_H, x, bottom, "rgba(0,150,0,0.8)", [6, 4]);
        ctx.fillStyle = "#070"; ctx.fillText("heal", x + 30 > view.width ? x - 28 : x + 3, AXIS_H + 8);
      }
    }
    let labelEnd = -Infinity;
    for (const v of D.violations) {
      const x = view.x(v.at_us);
      if (x < view.left - 1 || x > view.width + 1) continue;
      ctx.lineWidth = 2;
      line(ctx, x, AXIS_H, x, bottom, "rgba(210,0,0,0.9)", null);
      ctx.lineWidth = 1;
      ctx.font = "bold 12px system-ui, sans-serif";
      const text = "\u2716 " + v.invariant;
      const w = ctx.measureText(text).width;
      const tx = x + 4 + w > view.width ? x - 4 - w : x + 4;
      // A label only where it does not cover the one before (hover tells each).
      if (tx > labelEnd + 6) {
        ctx.fillStyle = "#c00"; ctx.fillText(text, tx, AXIS_H + TRAFFIC_H + NETWORK_H / 2);
        labelEnd = tx + w;
      }
      for (const node of v.nodes) {
        if (node > N) continue;
        ctx.fillStyle = "#c00";
        ctx.beginPath(); ctx.arc(x, laneMid(node - 1), 5, 0, 2 * Math.PI); ctx.fill();
      }
    }
  }

  function drawTimeline(ctx, view) {
    const bottom = laneTop[LANES];
    drawLanes(ctx, view);
    drawAxis(ctx, view, 0, bottom);
    drawTraffic(ctx, view);
    drawNetwork(ctx, view);
    drawNodes(ctx, view);
    drawOperations(ctx, view);
    drawMessages(ctx, view);
    drawMarks(ctx, view, bottom);
    $("range").textContent = fmtTime(Math.round(view.t0)) + " \u2013 " + fmtTime(Math.round(view.t1)) +
      " (" + fmtSpan(Math.round(view.t1 - view.t0)) + ")" + denseNote;
  }

  // What is under the mouse, as text.
  function hoverTimeline(view, x, y) {
    const t = Math.round(view.t(x));
    const previous = hovered;
    hovered = null;
    let text = null;
    if (x >= view.left) text = hoverViolation(view, x) || hoverMessage(x, y) || hoverLane(t, y);
    if (previous !== hovered && (previous && previous.m) !== (hovered && hovered.m)) view.redraw();
    return text;
  }

  function hoverViolation(view, x) {
    const near = D.violations.filter(function (v) { return Math.abs(view.x(v.at_us) - x) <= 3; });
    return near.length ? near.map(function (v) {
      return "VIOLATION at " + fmtTime(v.at_us) + " (step " + v.step + ")\n" + v.text;
    }).join("\n\n") : null;
  }

  function hoverMessage(x, y) {
    let best = null, bestDistance = 5;
    for (const s of drawnSegments) {
      const d = distanceToSegment(x, y, s.x1, s.y1, s.x2, s.y2);
      if (d < bestDistance) { best = s; bestDistance = d; }
    }
    if (!best) return null;
    hovered = { m: best.m };
    return describeMessage(best.m);
  }

  function describeMessage(m) {
    const fate = {
      once: "", duplicated: ", duplicated by the network", dropped: ", dropped by the network",
      cut: ", lost: the link was cut", held: ", held by a scenario rule (a release sends it again, as a new message)"
    }[m.fate];
    const lines = ["message #" + m.number + ": " + laneName(m.from) + " \u2192 " + laneName(m.to) + "  " + m.kind,
                   m.label, "sent " + fmtTime(m.sent) + fate];
    m.copies.forEach(function (c, i) {
      const which = m.copies.length > 1 ? "copy " + (i + 1) + ": " : "";
      let what = c.arrival === "in-flight" ? "still in flight when the run ended (due " + fmtTime(c.due) + ")"
        : c.arrival + " at " + fmtTime(c.end) + " (after " + fmtSpan(c.end - m.sent) + ")";
      if (c.waited) what += ", having waited for its paused receiver from " + fmtTime(c.due);
      lines.push(which + what);
    });
    return lines.join("\n");
  }

  function hoverLane(t, y) {
    if (y < AXIS_H) return null;
    if (y < AXIS_H + TRAFFIC_H) {
      const i = Math.floor(t / D.traffic.bucket_us);
      if (i < 0 || i >= D.traffic.sent.length) return null;
      return "traffic " + fmtTime(i * D.traffic.bucket_us) + " + " + fmtSpan(D.traffic.bucket_us) +
        ": " + D.traffic.sent[i] + " sent, " + D.traffic.lost[i] + " lost";
    }
    if (y < AXIS_H + TRAFFIC_H + NETWORK_H) {
      const link = lastAtOrBefore(D.links, t, function (l) { return l.at_us; });
      return "network at " + fmtTime(t) + ": " + (link ? link.description : "none") +
        (link ? " (since " + fmtTime(link.at_us) + ")" : "");
    }
    for (let lane = 0; lane < LANES; lane++) {
      if (y >= laneTop[lane] && y < laneTop[lane + 1]) return lane < N ? hoverNode(lane, t) : hoverClient(lane - N, t);
    }
    return null;
  }

  function hoverNode(node, t) {
    const span = lastAtOrBefore(roleSpans[node], t, function (s) { return s.from; });
    const lines = ["n" + (node + 1) + " at " + fmtTime(t)];
    if (!span) { lines.push("no state kept this early (see the notes)"); return lines.join("\n"); }
    const row = span.row;
    if (row[2] === "down") { lines.push("DOWN since " + fmtTime(row[0]) + ": " + row[6]); } else {
      lines.push(row[2] + " of term " + row[3] + " since " + fmtTime(row[0]));
      lines.push("leader " + (row[4] ? "n" + row[4] : "unknown") + ", voted for " + (row[5] ? "n" + row[5] : "nobody"));
      const commit = lastAtOrBefore(commits[node], t, function (c) { return c[0]; });
      if (commit) lines.push("commit " + commit[1] + " (since " + fmtTime(commit[0]) + ")");
    }
    for (const p of pausedSpans[node]) if (p.from <= t && t < p.to) lines.push("PAUSED " + fmtTime(p.from) + " \u2013 " + fmtTime(p.to));
    for (const s of isolatedSpans[node]) {
      if (s.from <= t && t < s.to) {
        const cuts = s.cuts.map(function (c) { return "n" + c[0] + "\u2192n" + c[1]; }).join(" ");
        lines.push((s.minority ? "CUT OFF from a majority: " : "links cut: ") + cuts + " (" + s.link.description + ")");
      }
    }
    return lines.join("\n");
  }

  function hoverClient(client, t) {
    for (const op of opsByClient[client]) {
      const end = op[3] === null ? END : op[3];
      if (op[2] <= t && t <= end) return describeOperation(op);
    }
    return "c" + client + " at " + fmtTime(t) + ": no operation in flight";
  }

  function describeOperation(op) {
    const end = op[3] === null ? "still pending at the end" : fmtTime(op[3]);
    return "c" + op[1] + " operation " + op[0] + ": " + op[4] + "\n" + fmtTime(op[2]) + " \u2013 " + end +
      "\noutcome: " + op[6] + (op[5] ? " " + op[5] : "");
  }

  const timelineCanvas = $("timeline");
  const timeline = TimeView(timelineCanvas, LEFT, drawTimeline, hoverTimeline);
  timeline.height = laneTop[LANES] + 6;

  // ------------------------------------------------------------- toolbar

  (function toolbar() {
    $("zoom-in").onclick = function () { timeline.zoom(0.5); };
    $("zoom-out").onclick = function () { timeline.zoom(2); };
    $("zoom-fit").onclick = function () { timeline.set(0, END); };
    const button = $("zoom-violation");
    if (!D.violations.length) { button.disabled = true; } else {
      button.onclick = function () { zoomToViolation(D.violations[0], true); };
    }
    const filters = $("filters");
    function checkbox(text, checked, change) {
      const box = el("input", { type: "checkbox" });
      box.checked = checked;
      box.onchange = function () { change(box.checked); timeline.redraw(); };
      const wrap = el("label");
      wrap.appendChild(box);
      wrap.appendChild(document.createTextNode(" " + text));
      filters.appendChild(wrap);
    }
    D.kinds.forEach(function (kind) { checkbox(kind, true, function (on) { kindShown[kind] = on; }); });
    checkbox("only faulted", false, function (on) { onlyFaulted = on; });
  })();

  function zoomToViolation(v, scroll) {
    // The moments before it: enough for a few message round trips.
    const before = Math.max(8 * D.nominal_delay_us, 20000);
    timeline.set(v.at_us - before, v.at_us + before / 8);
    if (scroll) timelineCanvas.scrollIntoView({ block: "nearest" });
  }

  // The view is kept in the address (`#view=FROM-TO`, microseconds), so that
  // a link or a reload shows the same stretch. A page of a violation opens
  // on the moments before it, any other on the whole run.
  (function initialView() {
    const match = /view=(\d+)-(\d+)/.exec(window.location.hash);
    if (match) { timeline.set(Number(match[1]), Number(match[2])); } else if (D.violations.length) {
      zoomToViolation(D.violations[0], false);
    } else { timeline.set(0, END); }
    let pending = null;
    timeline.onchange = function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        try {
          window.history.replaceState(null, "", "#view=" + Math.round(timeline.t0) + "-" + Math.round(timeline.t1));
        } catch (error) { /* a browser may refuse it for a local file: the view just is not kept */ }
      }, 300);
    };
  })();

  // ---------------------------------------------------- tables and lists

  (function violations() {
    const box = $("violations");
    if (!D.violations.length) return;
    box.appendChild(el("h2", {}, D.violations.length > 1 ? "Violations" : "Violation"));
    for (const v of D.violations) {
      const item = el("div", { "class": "violation-box", title: "zoom to it" },
        fmtTime(v.at_us) + " (step " + v.step + ") " + v.text);
      item.onclick = function () { zoomToViolation(v, true); };
      box.appendChild(item);
    }
  })();

  (function faults() {
    const table = $("faults");
    if (!D.faults.length) { table.appendChild(el("tr")).appendChild(el("td", { "class": "text" }, "no node or network faults")); return; }
    for (const f of D.faults) {
      const row = el("tr", { "class": "clickable", title: "zoom to it" });
      row.appendChild(el("td", {}, fmtTime(f.at_us)));
      row.appendChild(el("td", { "class": "text" }, f.text));
      row.onclick = function () { timeline.set(f.at_us - 200000, f.at_us + 400000); };
      table.appendChild(row);
    }
  })();

  (function counts() {
    const table = $("counts");
    const head = el("tr");
    ["kind", "sent"].concat(D.fates, D.arrivals.map(function (a) { return "copies " + a; }), ["waited for a pause"])
      .forEach(function (name, i) { head.appendChild(el("th", i ? {} : { "class": "text" }, name)); });
    table.appendChild(head);
    for (const c of D.counts) {
      const row = el("tr");
      row.appendChild(el("td", { "class": "text" }, c.kind));
      [c.sent].concat(c.fates, c.arrivals, [c.waited_for_pause]).forEach(function (n) { row.appendChild(el("td", {}, String(n))); });
      table.appendChild(row);
    }
  })();

  // ----------------------------------------- the linearizability panel

  (function linearizability() {
    const panel = D.linearizability;
    if (!panel) return;
    $("linearizability").hidden = false;
    $("explanation").textContent = panel.text;
    const order = {};
    panel.prefix.forEach(function (id, i) { order[id] = i + 1; });
    const stuck = {};
    panel.stuck.forEach(function (id) { stuck[id] = true; });
    const clients = [];
    for (const op of panel.operations) if (clients.indexOf(op[1]) < 0) clients.push(op[1]);
    clients.sort(function (a, b) { return a - b; });
    const ROW = 30, TOP = 24;
    const ops = panel.operations;
    const first = ops.length ? ops[0][2] : 0;
    const last = Math.max.apply(null, [first + 1].concat(ops.map(function (op) { return op[3] === null ? op[2] : op[3]; })));

    function fill(op) {
      if (stuck[op[0]]) return "#f08080";
      if (order[op[0]]) return "#8cd48c";
      return "#d8d8d8";
    }
    function draw(ctx, view) {
      drawAxis(ctx, view, 0, view.height);
      ctx.font = "12px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      clients.forEach(function (client, row) {
        ctx.fillStyle = "#222";
        ctx.fillText("c" + client, 8, TOP + row * ROW + ROW / 2);
      });
      for (const op of ops) drawPanelOp(ctx, view, op, clients.indexOf(op[1]));
    }
    function drawPanelOp(ctx, view, op, row) {
      const unknown = op[6] === "unknown" || op[6] === "pending";
      const end = op[3] === null ? last : op[3];
      const x0 = Math.max(view.left, view.x(op[2])), x1 = Math.min(view.width, view.x(unknown ? last : end));
      if (x1 < view.left || x0 > view.width) return;
      const top = TOP + row * ROW + 4, h = ROW - 8, w = Math.max(3, x1 - x0);
      if (unknown) {
        const gradient = ctx.createLinearGradient(x0, 0, x0 + w, 0);
        gradient.addColorStop(0, fill(op)); gradient.addColorStop(1, "rgba(255,255,255,0)");
        ctx.fillStyle = gradient;
      } else { ctx.fillStyle = fill(op); }
      ctx.fillRect(x0, top, w, h);
      ctx.lineWidth = stuck[op[0]] ? 2.5 : 1;
      ctx.strokeStyle = stuck[op[0]] ? "#b00" : "rgba(0,0,0,0.4)";
      ctx.strokeRect(x0 + 0.5, top + 0.5, w - 1, h - 1);
      ctx.lineWidth = 1;
      const number = order[op[0]] ? "#" + order[op[0]] : "";
      const text = (number ? number + " " : "") + op[4].replace(/^(\w+) "[^"]*"/, "$1") + (op[5] ? " \u2192 " + op[5] : "");
      if (ctx.measureText(text).width <= w - 6) { label(ctx, text, x0 + 4, top + h / 2, w - 6, "#111"); return; }
      if (stuck[op[0]]) {
        ctx.font = "bold 12px system-ui, sans-serif";
        const tw = ctx.measureText(text).width;
        ctx.fillStyle = "#b00";
        ctx.fillText(text, x0 - tw - 6 > view.left ? x0 - tw - 6 : x0 + w + 4, top + h / 2);
        ctx.font = "12px system-ui, sans-serif";
      } else { label(ctx, number, x0 + 2, top + h / 2, w - 3, "#111"); }
    }
    function hover(view, x, y) {
      const row = Math.floor((y - TOP) / ROW), t = view.t(x);
      for (const op of ops) {
        if (clients.indexOf(op[1]) !== row) continue;
        const end = op[3] === null || op[6] === "unknown" ? last : op[3];
        if (op[2] <= t && t <= end) {
          const role = stuck[op[0]] ? "STUCK: cannot be ordered after the prefix"
            : order[op[0]] ? "linearized #" + order[op[0]] + " of the prefix" : "not in the prefix";
          return describeOperation(op) + "\n" + role;
        }
      }
      return null;
    }
    const view = TimeView($("panel"), 50, draw, hover);
    view.min = first; view.max = last; view.height = TOP + clients.length * ROW + 8;
    // Start on the end of the prefix and the stuck operations.
    const focus = ops.filter(function (op) { return stuck[op[0]] || order[op[0]] > panel.prefix.length - 6; });
    const from = focus.length ? Math.min.apply(null, focus.map(function (op) { return op[2]; })) : first;
    view.set(from - (last - from) * 0.05, last);
  })();

})();
