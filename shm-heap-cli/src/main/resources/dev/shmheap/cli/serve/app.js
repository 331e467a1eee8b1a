// shm-heap serve: the live page. Polls /api/live every interval and /api/map every MAP_EVERY
// refreshes, and redraws in place. Plain JavaScript and canvas, served by the process itself.
"use strict";

const MAP_EVERY = 2;
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const css = name => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

let heaps = [];
let selected = 0;
let refreshes = 0;
let timer = null;

/** "640 B", "4 KiB", "1.5 MiB": as the command line prints sizes (exact units without decimals). */
function human(bytes) {
  if (Math.abs(bytes) < 1024) return bytes + " B";
  let unit = 0, value = bytes;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++; }
  const whole = Math.pow(1024, unit);
  return (bytes % whole === 0 ? String(bytes / whole) : value.toFixed(1)) + " " + UNITS[unit];
}

function rate(perSecond) {
  if (perSecond < 0) return "-";
  if (perSecond >= 1e6) return (perSecond / 1e6).toFixed(2) + " M";
  if (perSecond >= 1e4) return (perSecond / 1e3).toFixed(1) + " k";
  return perSecond.toFixed(perSecond < 10 ? 1 : 0);
}

/** Large counts in a few characters: 598.9 M, 12.3 k. */
function count(n) {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + " G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return String(n);
}

function clock(millis) {
  return new Date(millis).toLocaleTimeString([], {hour12: false});
}

/** Sets an element's text and, for the browser test and other tools, the exact figure behind it. */
function show(id, text, value) {
  const el = document.getElementById(id);
  el.textContent = text;
  if (value !== undefined) el.dataset.value = String(value);
}

async function getJson(url) {
  const response = await fetch(url, {cache: "no-store"});
  if (!response.ok) throw new Error((await response.text()).trim() || response.status + " " + response.statusText);
  return response.json();
}

function renderTabs() {
  const nav = document.getElementById("heaps");
  nav.replaceChildren(...heaps.map(h => {
    const a = document.createElement("a");
    a.href = "#heap=" + h.index;
    a.className = h.index === selected ? "active" : "";
    const dot = document.createElement("span");
    dot.className = "dot" + (h.state === "up" ? "" : " down");
    a.append(dot, h.file);
    a.title = h.state === "up" ? h.file : h.file + ": " + h.state + ", " + h.problem;
    return a;
  }));
}

function renderState(live) {
  const pill = document.getElementById("state");
  pill.textContent = live.state;
  pill.className = "pill " + live.state;
  const banner = document.getElementById("banner");
  if (live.state === "up") {
    banner.hidden = live.reattachments === 0;
    banner.textContent = live.reattachments === 0 ? "" :
      "The file was replaced or came back: attached again " + live.reattachments + (live.reattachments === 1 ? " time" : " times") +
      "; lines before that are of the earlier file.";
    banner.className = "banner info";
  } else {
    banner.hidden = false;
    banner.textContent = "Heap " + live.file + " is " + live.state + ": " + live.problem + ". Waiting for it to come back; the figures below are the last ones read.";
    banner.className = "banner";
  }
  const h = heaps.find(x => x.index === live.index);
  if (h && h.state !== live.state) { h.state = live.state; h.problem = live.problem; renderTabs(); }
}

function renderFigures(live) {
  const x = live.latest;
  if (!x) return;
  show("kpi-capacity", human(x.totalBytes), x.totalBytes);
  show("kpi-file", "data region of " + live.file.split("/").pop());
  show("kpi-used", human(x.usedBytes), x.usedBytes);
  const percent = x.totalBytes === 0 ? 0 : 100 * x.usedBytes / x.totalBytes;
  show("kpi-used-percent", percent.toFixed(1) + "%");
  document.getElementById("meter-used").style.width = Math.min(100, percent) + "%";
  show("kpi-available", human(x.availableBytes), x.availableBytes);
  show("kpi-fragmentation", "fragmentation " + x.fragmentation.toFixed(3));
  show("kpi-largest", human(x.largestFreeBlock), x.largestFreeBlock);
  show("kpi-alloc-rate", rate(x.allocationsPerSecond), x.allocationsPerSecond);
  show("kpi-allocations", count(x.allocations) + " in all", x.allocations);
  show("kpi-free-rate", rate(x.freesPerSecond), x.freesPerSecond);
  show("kpi-frees", count(x.frees) + " in all", x.frees);
  show("kpi-takeovers", String(x.lockTakeovers), x.lockTakeovers);
  show("kpi-reclaimed", count(x.reclaimedBlocks), x.reclaimedBlocks);
  show("kpi-reclaimed-bytes", "blocks, " + human(x.reclaimedBytes) + ", of the dead", x.reclaimedBytes);
  show("kpi-processes", x.aliveProcesses + " alive", x.aliveProcesses);
  const dead = x.attachedProcesses - x.aliveProcesses;
  show("kpi-dead", dead === 0 ? "none dead" : dead + " dead, hold " + human(x.deadBytes), dead);
  show("updated", "read " + clock(x.takenMillis) + " · every " + (live.intervalMillis / 1000) + " s");
}

function renderHoldings(live) {
  const used = live.latest ? live.latest.usedBytes : 0;
  const rows = live.processes.slice().sort((a, b) => b.bytes - a.bytes).map(p => {
    const tr = document.createElement("tr");
    tr.className = p.alive ? "" : "dead";
    tr.dataset.pid = p.pid;
    tr.dataset.bytes = p.bytes;
    tr.dataset.alive = p.alive;
    const tag = document.createElement("span");
    tag.className = "tag " + (p.alive ? "alive" : "dead");
    tag.textContent = p.alive ? "alive" : "DEAD";
    const bar = document.createElement("div");
    bar.className = "bar-h";
    bar.style.width = (used === 0 ? 0 : Math.max(0.5, 100 * p.bytes / used)) + "%";
    if (!p.alive) bar.style.background = css("--dead");
    const cells = [p.slot, p.pid, tag, p.blocks.toLocaleString("en-US"), human(p.bytes), bar];
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (i === 3 || i === 4) td.className = "num";
      if (i === 5) td.className = "share";
      td.append(c instanceof Node ? c : String(c));
      tr.append(td);
    });
    return tr;
  });
  document.querySelector("#holdings tbody").replaceChildren(...rows);
  const x = live.latest;
  show("holdings-note", x ? "shared (no holder): " + human(x.sharedBytes) + " · handed off: " + human(x.handedOffBytes) +
    (x.deadBytes > 0 ? " · dead processes hold " + human(x.deadBytes) + (x.reclaimsDead ? ", reclaimed at the next open" : "; 'shm-heap reclaim' frees it") : "") : "");
}

function renderEvents(live) {
  const list = document.getElementById("events");
  if (live.events.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "none since serve started (lifetime: " + (live.latest ? live.latest.lockTakeovers + " takeovers, " +
      live.latest.reclaimedBlocks + " blocks reclaimed" : "-") + ")";
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...live.events.slice().reverse().map(e => {
    const li = document.createElement("li");
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = clock(e.millis);
    const kind = document.createElement("span");
    kind.className = "kind-" + e.kind;
    kind.textContent = e.kind === "takeover" ? "lock takeover" : "reclaimed";
    const what = document.createElement("span");
    what.textContent = e.kind === "takeover" ? e.count + (e.count === 1 ? " lock taken over from a dead holder" : " locks taken over from dead holders")
      : e.count.toLocaleString("en-US") + " blocks, " + human(e.bytes) + " of dead processes";
    li.append(when, kind, what);
    return li;
  }));
}

/** A canvas sized to its box in device pixels; returns its 2D context scaled to CSS pixels. */
function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = Number(canvas.getAttribute("height"));
  canvas.style.height = height + "px";
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return {g, width, height};
}

/** Lines over time; a sample that is not up breaks every line. */
function lineChart(canvasId, legendId, millis, up, series, format, fixedMax) {
  const {g, width, height} = fit(document.getElementById(canvasId));
  const left = 70, right = 10, top = 8, bottom = 22;
  let max = 0;
  series.forEach(s => s.values.forEach((v, i) => { if (up[i] && v > max) max = v; }));
  max = fixedMax > 0 ? fixedMax : max <= 0 ? 1 : max * 1.08;
  const t0 = millis.length ? millis[0] : 0, t1 = millis.length ? millis[millis.length - 1] : 1;
  const span = Math.max(1, t1 - t0);
  const x = t => left + (width - left - right) * (t - t0) / span;
  const y = v => top + (height - top - bottom) * (1 - v / max);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = css("--muted");
  g.strokeStyle = css("--line");
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, yy); g.lineTo(width - right, yy); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(format(v), left - 6, yy);
  }
  g.textAlign = "center"; g.textBaseline = "top";
  if (millis.length > 1) {
    for (let i = 0; i <= 4; i++) {
      g.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
      g.fillText(clock(t0 + span * i / 4), x(t0 + span * i / 4), height - bottom + 6);
    }
  }
  series.forEach(s => {
    g.strokeStyle = s.color; g.lineWidth = 2; g.setLineDash(s.dash || []); g.beginPath();
    let drawing = false;
    s.values.forEach((v, i) => {
      if (!up[i] || v < 0) { drawing = false; return; }
      if (drawing) g.lineTo(x(millis[i]), y(v)); else g.moveTo(x(millis[i]), y(v));
      drawing = true;
    });
    g.stroke();
  });
  g.setLineDash([]);
  const last = s => s.values.length && up[up.length - 1] && s.values[s.values.length - 1] >= 0 ? format(s.values[s.values.length - 1]) : "-";
  document.getElementById(legendId).replaceChildren(...series.map(s => legendItem(s.color, s.name, last(s))));
}

function legendItem(color, name, amount) {
  const span = document.createElement("span");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = color;
  const value = document.createElement("span");
  value.className = "amount";
  value.textContent = amount;
  span.append(swatch, name, value);
  return span;
}

function renderCharts(live) {
  const h = live.history;
  lineChart("chart-use", "legend-use", h.millis, h.up, [
    {name: "used", color: css("--used"), values: h.usedBytes},
    {name: "available", color: css("--available"), values: h.availableBytes},
    {name: "largest free block", color: css("--largest"), values: h.largestFreeBlock}], human, live.latest ? live.latest.totalBytes : 0);
  lineChart("chart-rates", "legend-rates", h.millis, h.up, [
    {name: "allocations / s", color: css("--alloc"), values: h.allocationsPerSecond},
    {name: "frees / s", color: css("--free"), values: h.freesPerSecond, dash: [6, 4]}], v => rate(v));
}

function renderMap(map) {
  const canvas = document.getElementById("map");
  const cell = canvas.clientWidth / map.width; // square cells across the whole width
  canvas.setAttribute("height", String(Math.ceil(map.rows * cell)));
  const {g} = fit(canvas);
  const colors = map.legend.map(l => l.color);
  const gap = cell > 4 ? 1 : 0;
  for (let i = 0; i < map.cells; i++) {
    g.fillStyle = colors[map.states.charCodeAt(i) - 48];
    const x = (i % map.width) * cell, y = Math.floor(i / map.width) * cell;
    g.fillRect(Math.round(x), Math.round(y), Math.round(x + cell) - Math.round(x) - gap, Math.round(y + cell) - Math.round(y) - gap);
  }
  canvas.dataset.cells = map.cells;
  show("map-caption", "· one cell = " + human(map.cellBytes) + ", " + map.cells.toLocaleString("en-US") + " cells; a cell is free only when all its pages are");
  document.getElementById("map-legend").replaceChildren(...map.legend
    .filter(l => l.name !== "unreadable" || l.bytes > 0)
    .map(l => legendItem(l.color, l.name, human(l.bytes))));
}

async function refresh() {
  try {
    const live = await getJson("api/live?heap=" + selected);
    renderState(live);
    renderFigures(live);
    renderHoldings(live);
    renderEvents(live);
    renderCharts(live);
    if (live.state === "up" && refreshes % MAP_EVERY === 0) {
      try {
        renderMap(await getJson("api/map?heap=" + selected + "&width=" + mapWidth()));
      } catch (e) {
        show("map-caption", "· not drawn: " + e.message);
      }
    }
    refreshes++;
    document.body.dataset.refreshes = String(refreshes);
    document.body.dataset.takenMillis = live.latest ? String(live.latest.takenMillis) : "";
    schedule(live.intervalMillis);
  } catch (e) {
    const pill = document.getElementById("state");
    pill.textContent = "offline";
    pill.className = "pill offline";
    const banner = document.getElementById("banner");
    banner.hidden = false;
    banner.className = "banner";
    banner.textContent = "Cannot reach shm-heap serve: " + e.message + ". Retrying.";
    schedule(2000);
  }
}

/** Cells per row: about 9 CSS pixels each, a power of two between 32 and 256, as map --width accepts. */
function mapWidth() {
  const target = document.getElementById("map").clientWidth / 9;
  let w = 32;
  while (w * 2 <= target && w < 256) w *= 2;
  return w;
}

function schedule(millis) {
  clearTimeout(timer);
  timer = setTimeout(refresh, millis);
}

function selectFromHash() {
  const m = /heap=(\d+)/.exec(location.hash);
  selected = m ? Number(m[1]) : 0;
  document.getElementById("stats-link").href = "api/stats?heap=" + selected;
  renderTabs();
}

window.addEventListener("hashchange", () => { selectFromHash(); refreshes = 0; refresh(); });
window.addEventListener("DOMContentLoaded", async () => {
  try {
    heaps = await getJson("api/heaps");
  } catch (e) {
    heaps = [];
  }
  selectFromHash();
  refresh();
});
