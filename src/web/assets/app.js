// The dashboard: reads the view from the URL, fetches the JSON API, draws the charts, writes the view back.
// The page uses nothing but /api/* (see docs/web.md, "JSON API").
"use strict";

(() => {
  const { fmt, pct, esc, srTable } = Charts;
  const COLORS = { violent: "#c0392b", property: "#2f6db3", other: "#7b8794" };
  const LABELS = { violent: "Violent", property: "Property", other: "All other" };
  const FILTER_KEYS = ["from", "to", "category", "axis", "area_level", "area"];
  const VIEW_DEFAULTS = { category: "all", axis: "occurred", area_level: "", area: "", level: "neighborhood", other: "0", compare: "prior", sub: "" };
  const form = document.getElementById("filters");
  const $ = (id) => document.getElementById(id);
  let health = null;
  let geo = null;
  let data = null;
  let view = {};
  let renders = 0;
  let seq = 0;

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    return { ok: r.ok, status: r.status, body };
  }

  function readURL() {
    const q = new URLSearchParams(location.search);
    const v = {};
    for (const [k, d] of Object.entries({ from: "", to: "", ...VIEW_DEFAULTS })) v[k] = q.get(k) ?? d;
    return v;
  }

  function writeURL(push) {
    const q = new URLSearchParams();
    for (const [k, val] of Object.entries(view)) {
      if (val !== "" && val !== VIEW_DEFAULTS[k]) q.set(k, val);
    }
    const url = location.pathname + (q.toString() ? "?" + q.toString() : "");
    if (url !== location.pathname + location.search) history[push ? "pushState" : "replaceState"](null, "", url);
  }

  function apiQuery(extra) {
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) if (view[k]) q.set(k, view[k]);
    if (!view.area_level || !view.area) { q.delete("area_level"); q.delete("area"); }
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  function addMonths(ym, n) {
    const [y, m] = ym.split("-").map(Number);
    const t = y * 12 + (m - 1) + n;
    return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, "0")}`;
  }

  function when(ts) { return ts ? ts.replace("T", " ").replace(/:\d\dZ$/, " UTC") : "unknown"; }

  function drawHeader() {
    const h = health;
    const marks = [];
    if (h.partial_months.length) marks.push(`<span class="mark partial" title="still filling: counts will grow">partial: ${h.partial_months.map(esc).join(", ")}</span>`);
    if (h.provisional_months.length) marks.push(`<span class="mark provisional" title="${esc(provisionalMeaning())}">provisional: ${h.provisional_months.map(esc).join(", ")}</span>`);
    const q = h.quarantined_rows || 0;
    if (q > 0) marks.push(`<span class="mark quarantined" data-testid="quarantined" title="rows the source sent that could not be read; \`crimewatch status\` counts them per month and the lake keeps each with its reason">${fmt(q)} ${q === 1 ? "row" : "rows"} could not be read</span>`);
    $("asof").innerHTML = `Data as of <b>${esc(when(h.built_at))}</b> <span class="muted">· source updated ${esc(when(h.source_max_updated_at))} · fetched ${esc(when(h.last_fetched_at))}</span> ${marks.join(" ")}`;
  }

  // What "provisional" means in this build (/api/health's provisional_rule, docs/reading-the-numbers.md): months
  // less than N% complete, measured from the reporting delays, or the fixed fallback while there is too little
  // history to measure them.
  function provisionalMeaning() {
    const r = health.provisional_rule;
    if (!r) return "provisional";
    if (r.method === "completeness") return `less than ${Math.round(r.complete_share * 1000) / 10}% complete`;
    return `provisional (the ${r.fixed_months} months before the newest; too little history to measure completeness)`;
  }

  function syncForm() {
    for (const k of ["from", "to", "category", "axis", "area_level"]) form.elements[k].value = view[k];
    document.querySelector("[name=other]").checked = view.other === "1";
    document.querySelector("[name=compare]").value = view.compare;
    document.querySelector("[name=level]").value = view.level;
    document.querySelector(".trend [name=other]").disabled = view.category !== "all";
  }

  async function fillAreaNames() {
    const sel = form.elements.area;
    if (!view.area_level) { sel.hidden = true; sel.innerHTML = ""; return; }
    const q = new URLSearchParams({ level: view.area_level, axis: view.axis });
    if (view.from) q.set("from", view.from);
    if (view.to) q.set("to", view.to);
    const r = await getJSON("/api/areas?" + q);
    const names = r.ok ? r.body.map((a) => a.area).sort() : [];
    if (view.area && !names.includes(view.area)) names.unshift(view.area);
    sel.innerHTML = `<option value="">— choose —</option>` + names.map((n) => `<option>${esc(n)}</option>`).join("");
    sel.value = view.area;
    sel.hidden = false;
  }

  function setMessage(html) {
    const m = $("message");
    m.innerHTML = html || "";
    m.hidden = !html;
  }

  async function load() {
    const my = ++seq;
    document.body.dataset.state = "loading";
    const q = apiQuery();
    const mapQ = apiQuery({ level: "neighborhood" });
    const urls = {
      trend: "/api/trend?" + q,
      areas: "/api/areas?" + apiQuery({ level: view.level }),
      map: "/api/areas?" + mapQ,
      offenses: "/api/offenses?" + q,
      heatmap: "/api/heatmap?" + q,
      completeness: "/api/completeness",
      expected: "/api/expected-range?axis=" + view.axis,
    };
    // The ranking at neighborhood level is the map's own query: asked once.
    const once = new Map(Object.values(urls).map((u) => [u, null]));
    for (const u of once.keys()) once.set(u, getJSON(u));
    const [trend, areas, map, offenses, heatmap, completeness, expected] = await Promise.all(Object.values(urls).map((u) => once.get(u)));
    if (my !== seq) return;
    const failed = [trend, areas, map, offenses, heatmap].find((r) => !r.ok);
    if (failed) {
      setMessage(esc(failed.body && failed.body.error ? failed.body.error : `the API answered ${failed.status}`));
      document.body.dataset.state = failed.status === 503 ? "nodata" : "error";
      return;
    }
    setMessage("");
    data = { trend: trend.body, areas: areas.body, map: map.body, offenses: offenses.body, heatmap: heatmap.body,
      completeness: completeness.ok && Array.isArray(completeness.body) ? completeness.body : [],
      expected: expected.ok && Array.isArray(expected.body) ? expected.body : [] };
    for (const a of document.querySelectorAll("a.csv[data-chart]")) {
      const chart = a.dataset.chart;
      a.href = `/api/${chart}?` + (chart === "areas" ? apiQuery({ level: view.level, format: "csv" }) : apiQuery({ format: "csv" }));
    }
    draw();
    renders += 1;
    document.body.dataset.renders = String(renders);
    document.body.dataset.query = q;
    document.body.dataset.state = "ready";
    // Time from navigation start to the first fully drawn page (read by the benchmark).
    if (!document.body.dataset.readyMs) document.body.dataset.readyMs = String(Math.round(performance.now()));
  }

  function setTotal(testid, n) {
    const el = document.querySelector(`[data-testid=${testid}]`);
    el.textContent = fmt(n) + " offenses";
    el.dataset.value = String(n);
  }

  // The first month whose year-earlier month the lake covers. The lake holds reports from its first reported
  // month on, so on the "occurred" axis an earlier month only counts the few offenses reported late: its
  // year-earlier figure is left out (a gap in the line), not drawn as a near-zero that then jumps.
  function priorKnownFrom() {
    const first = health.reported && health.reported.first_month;
    return first ? addMonths(first, 12) : "";
  }

  // The nowcast of incomplete months (/api/completeness), for the city on the "occurred" axis only: the band
  // shows where the final count of each month is expected to land (docs/reading-the-numbers.md).
  function nowcastOf(category, months) {
    if (view.axis !== "occurred" || view.area) return {};
    const by = new Map(data.completeness.filter((r) => r.offense_category === category && r.completeness < 1).map((r) => [r.month, r]));
    const pick = (f) => months.map((m) => (by.has(m) ? by.get(m)[f] : null));
    return { nowcast: pick("nowcast"), nowLow: pick("nowcast_low"), nowHigh: pick("nowcast_high"), complete: pick("completeness") };
  }

  // The expected range of each month from the same months of previous years (/api/expected-range), city-wide:
  // a count outside it is unusual for its season (docs/reading-the-numbers.md).
  function expectedOf(category, months) {
    if (view.area) return {};
    const by = new Map(data.expected.filter((r) => r.offense_category === category).map((r) => [r.month, r]));
    const pick = (f) => months.map((m) => (by.has(m) ? by.get(m)[f] : null));
    return { expLow: pick("expected_low"), expHigh: pick("expected_high") };
  }

  function drawTrend() {
    const rows = data.trend;
    const months = [...new Set(rows.map((r) => r.month))];
    const flags = months.map((m) => {
      const r = rows.find((x) => x.month === m);
      return { partial: r.is_partial, provisional: r.is_provisional };
    });
    const cats = ["violent", "property", "other"].filter((c) => rows.some((r) => r.category === c))
      .filter((c) => c !== "other" || view.other === "1" || view.category === "other");
    const knownFrom = priorKnownFrom();
    const series = cats.map((c) => {
      const by = new Map(rows.filter((r) => r.category === c).map((r) => [r.month, r]));
      const pick = (f) => months.map((m) => (by.has(m) ? by.get(m)[f] : null));
      const earlier = (f) => pick(f).map((v, i) => (months[i] < knownFrom ? null : v));
      return { key: c, label: LABELS[c], color: COLORS[c], values: pick("count"), prior: earlier("prior_year_count"), yoy: earlier("yoy_pct"),
        sig: earlier("significant"), low: earlier("ratio_low"), high: earlier("ratio_high"), ...nowcastOf(c, months), ...expectedOf(c, months) };
    });
    setTotal("trend-total", rows.reduce((s, r) => s + r.count, 0));
    const el = $("trend-chart");
    if (!months.length) { el.innerHTML = `<p class="empty">No months in this range.</p>`; return; }
    const total = (s) => s.values.reduce((a, b) => a + (b || 0), 0);
    const firstPrior = months.find((m, i) => series.some((s) => s.prior[i] != null));
    const gap = !firstPrior ? " (none in this range)" : firstPrior !== months[0] ? ` (none before ${esc(firstPrior)})` : "";
    const legend = series.map((s) => `<span><i data-color="${esc(s.color)}"></i>${esc(s.label)} ${fmt(total(s))}</span>`);
    legend.push(view.compare === "prior" ? `<span class="muted"><i class="dash"></i>same month a year earlier${gap}</span>` : `<span class="muted">change vs. same month a year earlier${gap}</span>`);
    legend.push(`<span class="muted" data-testid="provisional-legend"><i class="band"></i>partial / ${esc(provisionalMeaning())}</span>`);
    if (series.some((s) => s.nowHigh && s.nowHigh.some((v) => v != null))) legend.push(`<span class="muted"><i class="nowband"></i>expected final count (95%)</span>`);
    if (view.compare === "prior" && series.some((s) => s.expHigh && s.expHigh.some((v) => v != null))) legend.push(`<span class="muted" data-testid="expected-legend"><i class="expband"></i>usual range, earlier years (95%)</span>`);
    if (series.some((s) => s.sig.some((v) => v === true))) legend.push(`<span class="muted"><i class="ring"></i>change beyond usual variation</span>`);
    const flagged = (i) => (flags[i].partial ? " (partial)" : flags[i].provisional ? " (provisional)" : "");
    const table = srTable(`Offenses per month, ${months[0]} to ${months[months.length - 1]}`,
      ["Month", ...series.flatMap((s) => [s.label, `${s.label}, a year earlier`, `${s.label}, change`, `${s.label}, expected range`])],
      months.map((m, i) => [m + flagged(i), ...series.flatMap((s) => [fmt(s.values[i]), fmt(s.prior[i]), pct(s.yoy[i]) + usual(s.sig[i]),
        s.expHigh && s.expHigh[i] != null ? `${fmt(s.expLow[i])}–${fmt(s.expHigh[i])}` : "–"])]));
    // The legend is laid out first, so the plot gets the height that is left.
    el.innerHTML = `<div class="plot"></div><div class="legend">${legend.join("")}</div>${table}`;
    Charts.paint(el);
    const label = `Trend: offenses per month, ${months[0]} to ${months[months.length - 1]}, by when ${view.axis === "reported" ? "reported" : "they occurred"}: ` +
      series.map((s) => `${s.label} ${fmt(total(s))}`).join(", ") +
      (view.compare === "prior" ? "; dotted: the same month a year earlier" : "; shown as change against the same month a year earlier") +
      ". Arrow keys step through the months.";
    Charts.trend(el.querySelector(".plot"), { months, series, flags, mode: view.compare, label });
  }

  // "Is the change real?" (docs/reading-the-numbers.md): a change whose 95% interval excludes "no change" is
  // marked; the rest are greyed as within usual variation. null: not compared (partial or before the lake).
  function usual(significant) {
    return significant === true ? " (beyond usual variation)" : significant === false ? " (within usual variation)" : "";
  }
  function changeMark(yoy, r) {
    const range = r.ratio_low == null ? "" : `; 95% range ×${r.ratio_low}–×${r.ratio_high}`;
    if (r.significant === true) return `<span class="${yoy > 0 ? "up" : "down"} sig" title="beyond usual variation${range}">${pct(yoy)}*</span>`;
    if (r.significant === false) return `<span class="usual" title="within usual variation${range}">${pct(yoy)}</span>`;
    return `<span class="${yoy > 0 ? "up" : "down"}">${pct(yoy)}</span>`;
  }

  function drawWhere() {
    const rows = data.areas;
    setTotal("areas-total", rows.reduce((s, r) => s + r.count, 0));
    const levelName = { neighborhood: "neighborhoods", precinct: "precincts", sector: "sectors", beat: "beats" }[view.level];
    const label = `Ranking of ${rows.length} ${levelName} by offenses` + (rows.length ? `, highest ${rows[0].area} (${fmt(rows[0].count)})` : "") + "; choose one to filter by it";
    Charts.bars($("ranking"), rows.map((r) => ({
      key: r.area, label: r.area, value: r.count,
      sub: r.yoy_pct == null ? "" : changeMark(r.yoy_pct, r),
      title: `${r.area}: ${fmt(r.count)}; a year earlier ${fmt(r.prior_year_count)}${usual(r.significant)} — click to filter`,
      color: view.category === "all" ? "#5b7083" : COLORS[view.category],
    })), { label, empty: "No offenses in this selection.", onClick: (name) => { view.area_level = view.level; view.area = name; apply(true); } });
    const values = new Map();
    const unmatched = [];
    for (const r of data.map) {
      if (r.polygon) {
        const v = values.get(r.polygon) || { count: 0, label: r.area };
        v.count += r.count;
        values.set(r.polygon, v);
      } else unmatched.push(r);
    }
    if (geo) {
      const ranked = [...values.entries()].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
      const span = ranked.length ? `: from ${fmt(ranked[ranked.length - 1][1].count)} (${ranked[ranked.length - 1][0]}) to ${fmt(ranked[0][1].count)} (${ranked[0][0]})` : "";
      const label = `Map of the ${geo.features.length} neighborhood areas shaded by offenses${span}. Arrow keys step through the areas, Enter filters by one.`;
      Charts.choropleth($("map"), geo, values, { label, onClick: (name) => { view.area_level = "neighborhood"; view.area = name; apply(true); } });
      $("map").insertAdjacentHTML("beforeend", srTable("Offenses per neighborhood area on the map", ["Area", "Offenses", "Name in the data"],
        ranked.map(([name, v]) => [name, fmt(v.count), v.label])));
    }
    const matched = data.map.length - unmatched.length;
    const names = unmatched.map((r) => `${esc(r.area)} (${fmt(r.count)})`).join(", ");
    $("unmatched").innerHTML = `${matched} of ${data.map.length} neighborhood names on the map` + (unmatched.length ? `; not on the map: ${names}` : "");
    $("unmatched").dataset.unmatched = String(unmatched.length);
  }

  function drawWhat() {
    const rows = data.offenses;
    setTotal("offenses-total", rows.reduce((s, r) => s + r.count, 0));
    const crumbs = $("crumbs");
    if (view.sub) {
      const inner = rows.filter((r) => r.offense_sub_category === view.sub);
      crumbs.innerHTML = `<a href="#" data-up="1">All sub-categories</a> › <b>${esc(view.sub)}</b>`;
      Charts.bars($("offenses"), inner.map((r) => ({ key: r.offense, label: r.offense, value: r.count, color: COLORS[r.category] || "#5b7083" })),
        { label: `Offenses of ${view.sub} by count`, empty: "No offenses of this sub-category in this selection." });
    } else {
      const subs = new Map();
      for (const r of rows) {
        const s = subs.get(r.offense_sub_category) || { count: 0, by: {} };
        s.count += r.count;
        s.by[r.category] = (s.by[r.category] || 0) + r.count;
        subs.set(r.offense_sub_category, s);
      }
      const list = [...subs.entries()].sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
      crumbs.innerHTML = `<span class="muted">By sub-category — click one for its offenses</span>`;
      Charts.bars($("offenses"), list.map(([name, s]) => {
        const main = Object.entries(s.by).sort((a, b) => b[1] - a[1])[0][0];
        return { key: name, label: name, value: s.count, color: COLORS[main] || "#5b7083" };
      }), {
        label: `Offense sub-categories by count` + (list.length ? `, largest ${list[0][0]} (${fmt(list[0][1].count)})` : "") + "; choose one for its offenses",
        empty: "No offenses in this selection.",
        onClick: (name) => { view.sub = name; writeURL(true); drawWhat(); },
      });
    }
    const up = crumbs.querySelector("[data-up]");
    if (up) up.addEventListener("click", (e) => { e.preventDefault(); view.sub = ""; writeURL(true); drawWhat(); });
  }

  function drawWhen() {
    const cells = data.heatmap;
    setTotal("heatmap-total", cells.reduce((s, r) => s + r.count, 0));
    const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const hh = (h) => String(h).padStart(2, "0");
    const ranked = [...cells].sort((a, b) => b.count - a.count || a.weekday - b.weekday || a.hour - b.hour);
    const at = (c) => `${days[c.weekday]} ${hh(c.hour)}:00 (${fmt(c.count)})`;
    const label = `Offenses by weekday and hour of day` + (ranked.length ? `: most on ${at(ranked[0])}, fewest on ${at(ranked[ranked.length - 1])}` : "") + ". Arrow keys step through the hours, Up and Down through the days.";
    Charts.heatmap($("heatmap"), cells, { label });
    const count = new Map(cells.map((c) => [c.weekday * 24 + c.hour, c.count]));
    const hours = Array.from({ length: 24 }, (_, h) => h);
    $("heatmap").insertAdjacentHTML("beforeend", srTable("Offenses by weekday (rows) and hour of day (columns)",
      ["Weekday", ...hours.map(hh)], days.map((d, w) => [d, ...hours.map((h) => fmt(count.get(w * 24 + h)))])));
  }

  function draw() {
    if (!data) return;
    drawTrend();
    drawWhere();
    drawWhat();
    drawWhen();
  }

  async function loadRuns() {
    const r = await getJSON("/api/runs");
    const el = $("runs");
    if (!r.ok || !r.body) { el.innerHTML = `<p class="muted">Run history is not available from this server.</p>`; return; }
    const { next_run: next, schedule, timezone, runs } = r.body;
    const parts = [];
    parts.push(next ? `<p>Next run <b>${esc(when(next))}</b> <span class="muted">(${esc(schedule || "")} ${esc(timezone || "")})</span></p>`
      : `<p class="muted">No scheduled runs in this server${schedule ? "" : " (started without a schedule)"}.</p>`);
    if (!runs || !runs.length) parts.push(`<p class="muted">No runs recorded yet.</p>`);
    else {
      const shown = runs.slice(0, 8);
      // The BigQuery column only where some run published there (a project is set).
      const bq = shown.some((x) => x.bigquery);
      const bqCell = (b) => !b ? `<td>–</td>` : b.error ? `<td class="st-failed" title="${esc(b.error)}">failed</td>`
        : `<td title="${fmt(b.tables_skipped)} unchanged, ${fmt(b.jobs)} jobs, ${fmt(b.bytes_uploaded)} bytes uploaded">${fmt(b.tables_loaded)} loaded</td>`;
      parts.push(`<table class="runs"><tr><th>started (UTC)</th><th>by</th><th>status</th><th title="months added / changed / deleted">months</th><th>tests</th>${bq ? `<th title="tables loaded into BigQuery">BigQuery</th>` : ""}</tr>` +
        shown.map((x) => `<tr title="${esc(x.error || `${x.run_id}: ${fmt(x.rows_written)} rows, ${fmt(x.requests)} requests`)}"><td>${esc((x.started_at || "").slice(0, 16).replace("T", " "))}</td><td>${esc(x.trigger)}${x.command && x.command !== "run" ? " " + esc(x.command) : ""}</td><td class="st-${esc(x.status)}">${esc(x.status)}</td>` +
          `<td title="${fmt(x.rows_written)} rows written">+${fmt(x.months_added)} ~${fmt(x.months_changed)} −${fmt(x.months_deleted)}</td>` +
          `<td>${fmt(x.tests_passed)}✓ ${x.tests_warned ? fmt(x.tests_warned) + "! " : ""}${x.tests_failed ? fmt(x.tests_failed) + "✗" : ""}</td>${bq ? bqCell(x.bigquery) : ""}</tr>`).join("") + `</table>`);
    }
    el.innerHTML = parts.join("");
  }

  // "How final are the numbers" (docs/reading-the-numbers.md): per revised report month (all categories) the
  // count when first fetched against now, and the typical drift by the month's age when first fetched. Not
  // filtered: asked once, after the first paint.
  async function loadRevisions() {
    const [rev, drift] = await Promise.all([getJSON("/api/revisions"), getJSON("/api/revisions/drift")]);
    const el = $("revisions");
    if (!rev.ok || !Array.isArray(rev.body)) { el.innerHTML = `<p class="muted">Revisions unavailable.</p>`; return; }
    const months = rev.body.filter((r) => r.offense_category === "all").reverse();
    el.dataset.months = String(months.length);
    if (!months.length) {
      el.innerHTML = `<p data-testid="no-revisions">No history yet: SPD has not revised any month since the lake began keeping versions, so there is nothing to compare.</p>`;
      return;
    }
    const change = (r) => r.count - r.first_count;
    const share = (r) => (r.first_count > 0 ? pct(Math.round((1000 * change(r)) / r.first_count) / 10) : "–");
    const signed = (n) => (n > 0 ? "+" : n < 0 ? "−" : "±") + fmt(Math.abs(n));
    const drifts = drift.ok && Array.isArray(drift.body) ? drift.body : [];
    const typical = drifts.length
      ? `<p data-testid="drift">Typical drift of a revised month, by its age when first fetched: ` + drifts.map((d) =>
        `<span data-age="${d.age_months}" data-median="${d.median_change_pct}">${d.age_months} ${d.age_months === 1 ? "month" : "months"}: ${pct(d.median_change_pct)} (middle half ${pct(d.change_pct_p25)} to ${pct(d.change_pct_p75)}; ${fmt(d.months)} months)</span>`).join("; ") + `.</p>`
      : `<p class="muted" data-testid="drift">Too few revised months yet to say how much a month typically moves.</p>`;
    el.innerHTML = `<p>${fmt(months.length)} ${months.length === 1 ? "month" : "months"} revised since first fetched (all offenses):</p>` + typical +
      `<table class="rev"><caption class="sr-only">Revised report months: offenses when first fetched and now</caption>` +
      `<tr><th scope="col">Month</th><th scope="col">Fetched</th><th scope="col">First</th><th scope="col">Now</th><th scope="col">Change</th><th scope="col" title="versions the lake keeps">Ver.</th></tr>` +
      months.map((r) => `<tr data-month="${esc(r.month)}"><td>${esc(r.month)}</td><td>${esc(r.first_fetched_at ? r.first_fetched_at.slice(0, 10) : "unknown")}</td>` +
        `<td>${fmt(r.first_count)}</td><td>${fmt(r.count)}</td><td class="change">${signed(change(r))} (${share(r)})</td><td>${fmt(r.versions)}</td></tr>`).join("") + `</table>`;
  }

  function fromForm() {
    for (const k of ["from", "to", "category", "axis", "area_level"]) view[k] = form.elements[k].value;
    view.area = view.area_level ? form.elements.area.value : "";
    if (view.from && view.to && view.from > view.to) [view.from, view.to] = [view.to, view.from];
  }

  async function apply(push) {
    writeURL(push);
    syncForm();
    await fillAreaNames();
    await load();
  }

  function defaultRange() {
    const span = health[view.axis] || health.reported || health.occurred;
    if (!span) return;
    const last = span.last_month;
    if (!view.to) view.to = last;
    if (!view.from) view.from = addMonths(view.to, -35) < span.first_month ? span.first_month : addMonths(view.to, -35);
  }

  async function start() {
    view = readURL();
    const h = await getJSON("/api/health");
    loadRuns();
    if (!h.ok) {
      $("asof").textContent = "no data";
      $("grid").hidden = true;
      setMessage(h.status === 503 ? "No data yet — run <code>crimewatch run</code>, then reload this page." : esc((h.body && h.body.error) || `the API answered ${h.status}`));
      document.body.dataset.state = h.status === 503 ? "nodata" : "error";
      return;
    }
    health = h.body;
    drawHeader();
    defaultRange();
    const g = await fetch($("map").dataset.src);
    geo = g.ok ? await g.json() : null;
    await apply(false);
    loadRevisions();
  }

  form.addEventListener("change", (e) => {
    if (e.target.name === "area_level") form.elements.area.value = "";
    fromForm();
    if (e.target.name === "area_level" && view.area_level) { writeURL(true); fillAreaNames(); return; }
    apply(true);
  });
  $("reset").addEventListener("click", () => {
    view = { from: "", to: "", ...VIEW_DEFAULTS };
    defaultRange();
    apply(true);
  });
  document.querySelector("[name=other]").addEventListener("change", (e) => { view.other = e.target.checked ? "1" : "0"; writeURL(true); drawTrend(); });
  document.querySelector("[name=compare]").addEventListener("change", (e) => { view.compare = e.target.value; writeURL(true); drawTrend(); });
  document.querySelector("[name=level]").addEventListener("change", (e) => { view.level = e.target.value; apply(true); });
  window.addEventListener("popstate", () => { view = readURL(); if (health) { defaultRange(); apply(false); } });
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(draw, 120); });
  start();
})();
