// Small SVG charts drawn by hand (no library): a line chart, bar lists, a choropleth and a heatmap.
// Every function takes a container element and plain data and replaces the container's content.
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const fmt = (n) => (n == null ? "–" : Number(n).toLocaleString("en-US"));
  const pct = (p) => (p == null ? "–" : (p > 0 ? "+" : "") + p.toFixed(1) + "%");

  function niceTicks(min, max, count) {
    if (max === min) { max = min + 1; }
    const span = max - min;
    const step0 = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || 10 * mag;
    const ticks = [];
    for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
    if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
    return ticks;
  }

  // The page's Content-Security-Policy refuses inline style attributes in markup, so markup carries colours and
  // widths as data-color / data-width and this sets them through the DOM, which the policy allows.
  function paint(root) {
    root.querySelectorAll("[data-color]").forEach((e) => { e.style.background = e.dataset.color; });
    root.querySelectorAll("[data-width]").forEach((e) => { e.style.width = e.dataset.width; });
  }

  const tip = () => document.getElementById("tooltip");
  let tipOwner = null;
  function placeTip(x, y, html, owner) {
    tipOwner = owner || null;
    const t = tip();
    t.innerHTML = html;
    paint(t);
    t.hidden = false;
    const pad = 12;
    let left = x + pad, top = y + pad;
    const r = t.getBoundingClientRect();
    if (left + r.width > window.innerWidth) left = x - r.width - pad;
    if (top + r.height > window.innerHeight) top = y - r.height - pad;
    t.style.left = Math.max(0, left) + "px";
    t.style.top = Math.max(0, top) + "px";
  }
  function showTip(evt, html, owner) { placeTip(evt.clientX, evt.clientY, html, owner); }
  function hideTip() { tip().hidden = true; }
  // A touch shows a tooltip that stays until the next touch elsewhere (a finger has no "leave") or a scroll (the
  // tooltip is fixed to the window, the chart is not).
  document.addEventListener("pointerdown", (e) => {
    if (e.pointerType !== "mouse" && !(e.target.closest && e.target.closest("svg [data-i]"))) hideTip();
  });
  window.addEventListener("scroll", hideTip, { passive: true });

  // Makes the chart `svg` usable by mouse, touch, pen and keyboard. `items` are its marks in keyboard order (each
  // with data-i = its index); html(i) is the tooltip of item i; activate(i), when given, runs on a click, on a
  // second tap of the same item (the first shows its tooltip), and on Enter. `cols` is the keyboard grid width:
  // Left/Right step by one, Up/Down by a row. The tooltip's text is also announced to screen readers.
  function interact(svg, items, { html, activate, cols = items.length }) {
    let active = -1;
    let touched = -1;
    let lastType = "mouse";
    const mark = (i) => {
      items.forEach((el) => el.classList.remove("on"));
      active = i;
      if (i >= 0) items[i].classList.add("on");
    };
    items.forEach((el, i) => {
      el.addEventListener("pointermove", (e) => { mark(i); showTip(e, html(i), svg); });
      el.addEventListener("pointerdown", (e) => {
        lastType = e.pointerType;
        if (e.pointerType === "mouse") return;
        touched = active === i && !tip().hidden ? i : -1;
        mark(i);
        showTip(e, html(i), svg);
      });
      el.addEventListener("pointerleave", (e) => { if (e.pointerType === "mouse") { mark(-1); hideTip(); } });
      if (activate) {
        el.addEventListener("click", (e) => {
          if (lastType !== "touch" || touched === i) activate(i);
          touched = -1;
        });
      }
    });
    const live = document.getElementById("chart-live");
    const focusOn = (i) => {
      mark(i);
      const r = items[i].getBoundingClientRect();
      placeTip(r.left + r.width / 2, r.top + r.height / 2, html(i), svg);
      if (live) live.textContent = tip().innerText.replace(/\s+/g, " ").trim();
    };
    svg.addEventListener("keydown", (e) => {
      const n = items.length;
      const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -n, End: n };
      if (e.key in steps) {
        e.preventDefault();
        const from = active < 0 ? (steps[e.key] > 0 ? -1 : n) : active;
        focusOn(Math.max(0, Math.min(n - 1, from + steps[e.key])));
      } else if ((e.key === "Enter" || e.key === " ") && activate && active >= 0) {
        e.preventDefault();
        activate(active);
      } else if (e.key === "Escape") {
        mark(-1);
        hideTip();
      }
    });
    // Leaving by keyboard closes this chart's tooltip, not one a tap elsewhere (which also moves focus) just opened.
    svg.addEventListener("blur", () => { mark(-1); if (tipOwner === svg) hideTip(); });
  }

  // A visually hidden table of a chart's figures, for screen readers: head = column names, rows = arrays of cells.
  function srTable(caption, head, rows) {
    const tr = (cells, tag) => `<tr>${cells.map((c, j) => `<${j === 0 && tag === "td" ? "th scope=\"row\"" : tag}>${esc(c)}</${j === 0 && tag === "td" ? "th" : tag}>`).join("")}</tr>`;
    // (In a div: a table grows to its content whatever its own width says.)
    return `<div class="sr-only"><table><caption>${esc(caption)}</caption><thead>${tr(head, "th")}</thead><tbody>${rows.map((r) => tr(r, "td")).join("")}</tbody></table></div>`;
  }

  // The opening tag of a chart's <svg>: a focusable image whose name is the chart's summary.
  const svgOpen = (W, H, label, cls) => `<svg xmlns="${NS}" width="${W}" height="${H}" role="img" tabindex="0" class="${cls}" aria-label="${esc(label)}">`;

  // months: ["2024-01", ...]; series: [{key, label, color, values: [n], prior: [n|null], yoy: [p|null]}];
  // flags: [{partial, provisional}] per month; mode: "prior" | "yoy"; label: the chart's summary.
  function trend(el, { months, series, flags, mode, label }) {
    const W = Math.max(280, el.clientWidth), H = Math.max(160, el.clientHeight);
    const m = { l: 48, r: 10, t: 10, b: 34 };
    const iw = W - m.l - m.r, ih = H - m.t - m.b;
    const n = months.length;
    const x = (i) => m.l + (n <= 1 ? iw / 2 : (i * iw) / (n - 1));
    const vals = [];
    for (const s of series) {
      const main = mode === "yoy" ? s.yoy : s.values;
      main.forEach((v) => v != null && vals.push(v));
      if (mode === "prior") s.prior.forEach((v) => v != null && vals.push(v));
      if (mode === "prior" && s.nowHigh) s.nowHigh.forEach((v) => v != null && vals.push(v));
      if (mode === "prior" && s.expHigh) s.expHigh.forEach((v) => v != null && vals.push(v));
    }
    let lo = mode === "yoy" ? Math.min(0, ...vals) : 0;
    let hi = Math.max(mode === "yoy" ? 0 : 1, ...vals);
    const ticks = niceTicks(lo, hi, 5);
    lo = ticks[0]; hi = ticks[ticks.length - 1];
    const y = (v) => m.t + ih - ((v - lo) / (hi - lo || 1)) * ih;
    const parts = [svgOpen(W, H, label, "trend-plot")];
    // Bands for months that are not final.
    const bw = n <= 1 ? iw : iw / (n - 1);
    flags.forEach((f, i) => {
      if (!f.partial && !f.provisional) return;
      const cls = f.partial ? "band-partial" : "band-provisional";
      parts.push(`<rect class="${cls}" x="${x(i) - bw / 2}" y="${m.t}" width="${bw}" height="${ih}"><title>${esc(months[i])}: ${f.partial ? "partial month (still filling)" : "provisional (late reports still arriving)"}</title></rect>`);
    });
    for (const t of ticks) {
      parts.push(`<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${y(t)}" y2="${y(t)}"/>`);
      parts.push(`<text class="tick" x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${mode === "yoy" ? t + "%" : fmt(t)}</text>`);
    }
    if (mode === "yoy") parts.push(`<line class="zero" x1="${m.l}" x2="${W - m.r}" y1="${y(0)}" y2="${y(0)}"/>`);
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 70))));
    months.forEach((mo, i) => {
      if (i % every !== 0 && i !== n - 1) return;
      if (i === n - 1 && i % every !== 0 && (n - 1) % every < every * 0.8) return;
      const anchor = x(i) + 24 > W ? "end" : x(i) - 24 < 0 ? "start" : "middle";
      parts.push(`<text class="tick" x="${x(i)}" y="${H - m.b + 16}" text-anchor="${anchor}">${esc(mo)}</text>`);
    });
    const final = (i) => !flags[i].partial && !flags[i].provisional;
    function path(values, cls, color) {
      // Solid through final months, dashed from the last final month into the unfinished ones.
      let solid = "", dashed = "";
      let prev = null;
      values.forEach((v, i) => {
        if (v == null) { prev = null; return; }
        const pt = `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
        if (prev === null) { if (final(i)) solid += `M${pt}`; else dashed += `M${pt}`; }
        else if (final(i)) solid += `L${pt}`;
        else dashed += (dashed.endsWith(prev.pt) ? "" : `M${prev.pt}`) + `L${pt}`;
        prev = { pt };
      });
      let out = "";
      if (solid) out += `<path class="${cls}" d="${solid}" stroke="${color}"/>`;
      if (dashed) out += `<path class="${cls} unfinished" d="${dashed}" stroke="${color}"/>`;
      return out;
    }
    // A band between lows and highs over the months that have both (counts mode only), as one polygon with the
    // figures in data attributes (the browser tests read them). A single month gets a sliver of width.
    function band(s, lows, highs, cls, title, withLows) {
      if (mode !== "prior" || !highs) return;
      const idx = months.map((_, i) => i).filter((i) => highs[i] != null && lows[i] != null);
      if (!idx.length) return;
      const up = idx.map((i) => `${x(i).toFixed(1)},${y(highs[i]).toFixed(1)}`);
      const down = idx.slice().reverse().map((i) => `${x(i).toFixed(1)},${y(lows[i]).toFixed(1)}`);
      const pad = idx.length === 1 ? [`${(x(idx[0]) + 3).toFixed(1)},${y(highs[idx[0]]).toFixed(1)}`] : [];
      const lowsAttr = withLows ? ` data-lows="${idx.map((i) => lows[i]).join(",")}"` : "";
      parts.push(`<polygon class="${cls}" points="${[...up, ...pad, ...down].join(" ")}" fill="${s.color}" data-series="${s.key}" data-months="${idx.map((i) => esc(months[i])).join(",")}"${lowsAttr} data-highs="${idx.map((i) => highs[i]).join(",")}"><title>${esc(s.label)}: ${title}</title></polygon>`);
    }
    // The expected range from the same months of previous years: where a count is usual for its season.
    for (const s of series) band(s, s.expLow, s.expHigh, "expected", "range expected from the same months of previous years (95%)", true);
    // The nowcast band of incomplete months: the 95% range of the expected final count.
    for (const s of series) band(s, s.nowLow, s.nowHigh, "nowcast", "expected final count, 95% range", false);
    for (const s of series) {
      if (mode === "prior") parts.push(path(s.prior, "line prior", s.color).replace(/ unfinished/g, ""));
      const main = mode === "yoy" ? s.yoy : s.values;
      parts.push(path(main, "line", s.color));
      main.forEach((v, i) => {
        if (v == null) return;
        const cls = flags[i].partial ? "pt partial" : flags[i].provisional ? "pt provisional" : "pt";
        parts.push(`<circle class="${cls}" cx="${x(i)}" cy="${y(v)}" r="${n > 60 ? 1.8 : 3}" stroke="${s.color}" fill="${flags[i].partial ? "#fff" : s.color}" data-series="${s.key}"/>`);
        // A change beyond usual variation against the same month a year earlier gets a ring.
        if (s.sig && s.sig[i] === true) parts.push(`<circle class="sig-ring" cx="${x(i)}" cy="${y(v)}" r="${n > 60 ? 4 : 6}" stroke="${s.color}" data-series="${s.key}" data-month="${esc(months[i])}"/>`);
      });
    }
    months.forEach((mo, i) => {
      parts.push(`<rect class="hover" data-i="${i}" x="${x(i) - bw / 2}" y="${m.t}" width="${bw}" height="${ih}"/>`);
    });
    parts.push("</svg>");
    el.innerHTML = parts.join("");
    const tipHtml = (i) => {
      const f = flags[i];
      const note = f.partial ? " <em>partial</em>" : f.provisional ? " <em>provisional</em>" : "";
      const rows = series.map((s) => `<tr><td><i data-color="${esc(s.color)}"></i>${esc(s.label)}</td><td>${fmt(s.values[i])}</td><td class="muted">${fmt(s.prior[i])}</td><td class="${s.sig && s.sig[i] === false ? "usual" : ""}">${pct(s.yoy[i])}${s.sig && s.sig[i] === true ? "*" : ""}</td></tr>`).join("");
      const star = series.some((s) => s.sig && s.sig[i] === true) ? `<div class="muted">* beyond usual variation</div>` : "";
      const now = series.filter((s) => s.nowcast && s.nowcast[i] != null).map((s) =>
        `<div class="muted">${esc(s.label)}: ${Math.round(100 * s.complete[i])}% reported; expected final ${fmt(Math.round(s.nowcast[i]))} (${fmt(Math.round(s.nowLow[i]))}–${fmt(Math.round(s.nowHigh[i]))})</div>`).join("");
      const exp = series.filter((s) => s.expHigh && s.expHigh[i] != null).map((s) =>
        `<div class="muted">${esc(s.label)}: expected ${fmt(s.expLow[i])}–${fmt(s.expHigh[i])} from earlier years</div>`).join("");
      return `<b>${esc(months[i])}</b>${note}<table><tr class="muted"><td></td><td>count</td><td>yr earlier</td><td>YoY</td></tr>${rows}</table>${star}${now}${exp}`;
    };
    interact(el.querySelector("svg"), [...el.querySelectorAll("rect.hover")], { html: tipHtml, cols: 12 });
  }

  // rows: [{label, value, sub, color, key}]; onClick(key) makes rows buttons; label names the list for screen
  // readers (a list of plain rows is focusable itself, so every chart can be reached by keyboard).
  function bars(el, rows, { onClick, max, label, empty } = {}) {
    const top = max || Math.max(1, ...rows.map((r) => r.value));
    el.innerHTML = rows.map((r) => {
      const w = Math.max(0.5, (100 * r.value) / top);
      const tag = onClick ? "button" : "div";
      return `<li><${tag} class="bar-row${onClick ? " clickable" : ""}" data-key="${esc(r.key)}" title="${esc(r.title || r.label)}">` +
        `<span class="bar-label">${esc(r.label)}</span><span class="bar-value">${fmt(r.value)}${r.sub ? ` <small>${r.sub}</small>` : ""}</span>` +
        `<span class="bar" data-width="${w.toFixed(1)}%" data-color="${esc(r.color || "#5b7083")}"></span></${tag}></li>`;
    }).join("") || `<li class="empty">${esc(empty || "Nothing in this selection.")}</li>`;
    paint(el);
    if (label) el.setAttribute("aria-label", label); else el.removeAttribute("aria-label");
    if (onClick && rows.length) el.removeAttribute("tabindex"); else el.setAttribute("tabindex", "0");
    if (onClick) el.querySelectorAll("button.bar-row").forEach((b) => b.addEventListener("click", () => onClick(b.dataset.key)));
  }

  // Sequential colour for t in [0, 1].
  function heat(t, from, to) {
    const c = from.map((a, i) => Math.round(a + (to[i] - a) * Math.sqrt(Math.max(0, Math.min(1, t)))));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  // geo: GeoJSON of MultiPolygons with properties.name; values: Map polygon name -> {count, label}.
  function choropleth(el, geo, values, { onClick, label } = {}) {
    const W = Math.max(160, el.clientWidth), H = Math.max(160, el.clientHeight);
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (const f of geo.features) for (const poly of f.geometry.coordinates) for (const ring of poly) for (const [lon, lat] of ring) {
      minX = Math.min(minX, lon); maxX = Math.max(maxX, lon); minY = Math.min(minY, lat); maxY = Math.max(maxY, lat);
    }
    const k = Math.cos(((minY + maxY) / 2) * Math.PI / 180);
    const sx = (maxX - minX) * k, sy = maxY - minY;
    const scale = Math.min((W - 8) / sx, (H - 8) / sy);
    const ox = (W - sx * scale) / 2, oy = (H - sy * scale) / 2;
    const px = (lon) => (ox + (lon - minX) * k * scale).toFixed(1);
    const py = (lat) => (oy + (maxY - lat) * scale).toFixed(1);
    // Rank (quantile) colours: with 58 areas of similar size a linear scale would paint them all alike.
    const sorted = [...values.values()].map((v) => v.count).sort((a, b) => a - b);
    const rank = (c) => (sorted.length <= 1 ? 1 : sorted.lastIndexOf(c) / (sorted.length - 1));
    const LOW = [255, 244, 214], HIGH = [153, 27, 30];
    const parts = [svgOpen(W, H, label, "map-plot")];
    geo.features.forEach((f, i) => {
      const name = f.properties.name;
      const v = values.get(name);
      const d = f.geometry.coordinates.map((poly) => poly.map((ring) => "M" + ring.map(([a, b]) => px(a) + "," + py(b)).join("L") + "Z").join("")).join("");
      const fill = v ? heat(rank(v.count), LOW, HIGH) : "#e4e7eb";
      parts.push(`<path class="area${v ? "" : " empty"}" d="${d}" fill="${fill}" data-i="${i}" data-name="${esc(name)}" data-count="${v ? v.count : 0}"/>`);
    });
    if (sorted.length) {
      const lx = 6, ly = 16;
      parts.push(`<text class="tick" x="${lx}" y="${ly - 4}">${fmt(sorted[0])}</text>`);
      for (let i = 0; i < 5; i++) parts.push(`<rect x="${lx + i * 14}" y="${ly}" width="14" height="8" fill="${heat(i / 4, LOW, HIGH)}"/>`);
      parts.push(`<text class="tick" x="${lx + 70}" y="${ly - 4}" text-anchor="end">${fmt(sorted[sorted.length - 1])}</text>`);
    }
    parts.push("</svg>");
    el.innerHTML = parts.join("");
    const paths = [...el.querySelectorAll("path.area")];
    const at = (i) => ({ name: paths[i].dataset.name, v: values.get(paths[i].dataset.name) });
    interact(el.querySelector("svg"), paths, {
      html: (i) => {
        const { name, v } = at(i);
        return `<b>${esc(name)}</b><br>${v ? fmt(v.count) + " offenses" + (v.label !== name ? `<br><span class="muted">data name: ${esc(v.label)}</span>` : "") : "no offenses in this selection"}`;
      },
      activate: onClick ? (i) => { const { v } = at(i); if (v) onClick(v.label); } : undefined,
    });
  }

  // cells: [{weekday 0..6, hour 0..23, count}]; label: the chart's summary.
  function heatmap(el, cells, { label } = {}) {
    const W = Math.max(260, el.clientWidth), H = Math.max(120, el.clientHeight);
    const m = { l: 34, r: 4, t: 4, b: 32 };
    const cw = (W - m.l - m.r) / 24, ch = (H - m.t - m.b) / 7;
    const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const counts = cells.map((c) => c.count);
    const lo = Math.min(...counts), hi = Math.max(...counts);
    const t = (c) => (hi > lo ? (c - lo) / (hi - lo) : 0);
    const LOW = [240, 244, 248], HIGH = [36, 59, 110];
    const parts = [svgOpen(W, H, label, "heatmap-plot")];
    const lx = W - m.r - 100;
    parts.push(`<text class="tick" x="${lx - 4}" y="${H - 4}" text-anchor="end">${fmt(lo)}</text>`);
    for (let i = 0; i < 5; i++) parts.push(`<rect x="${lx + i * 14}" y="${H - 12}" width="14" height="8" fill="${heat(i / 4, LOW, HIGH)}"/>`);
    parts.push(`<text class="tick" x="${lx + 74}" y="${H - 4}">${fmt(hi)}</text>`);
    days.forEach((d, i) => parts.push(`<text class="tick" x="${m.l - 5}" y="${m.t + ch * i + ch / 2 + 4}" text-anchor="end">${d}</text>`));
    for (let h = 0; h < 24; h += 3) parts.push(`<text class="tick" x="${m.l + cw * h + cw / 2}" y="${H - m.b + 12}" text-anchor="middle">${String(h).padStart(2, "0")}</text>`);
    // In keyboard order: Monday 00 .. Sunday 23, so Up/Down move by a day.
    const ordered = [...cells].sort((a, b) => a.weekday - b.weekday || a.hour - b.hour);
    const hh = (h) => String(h).padStart(2, "0");
    const say = (c) => `${days[c.weekday]} ${hh(c.hour)}:00–${hh(c.hour)}:59 — ${fmt(c.count)}`;
    ordered.forEach((c, i) => {
      const fill = heat(t(c.count), LOW, HIGH);
      parts.push(`<rect class="cell" x="${(m.l + cw * c.hour).toFixed(1)}" y="${(m.t + ch * c.weekday).toFixed(1)}" width="${(cw - 1).toFixed(1)}" height="${(ch - 1).toFixed(1)}" fill="${fill}" data-i="${i}" data-count="${c.count}"/>`);
    });
    parts.push("</svg>");
    el.innerHTML = parts.join("");
    interact(el.querySelector("svg"), [...el.querySelectorAll("rect.cell")], { html: (i) => esc(say(ordered[i])), cols: 24 });
  }

  return { trend, bars, choropleth, heatmap, srTable, paint, fmt, pct, esc };
})();
