// Browser check of the dashboard: node check.mjs <base-url> <output-dir>
// Exits non-zero with a message on the first failed expectation; prints "browser check: ok" at the end.
import { launch } from "./chromium.mjs";
import { apiAt, check, fmt, pct, sum, waitReady, watchErrors } from "./lib.mjs";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: node check.mjs <base-url> <output-dir>");
  process.exit(2);
}

const api = apiAt(base);

async function totals(page) {
  return page.evaluate(() => {
    const v = (id) => Number(document.querySelector(`[data-testid=${id}]`).dataset.value);
    return { trend: v("trend-total"), areas: v("areas-total"), offenses: v("offenses-total"), heatmap: v("heatmap-total"), query: document.body.dataset.query };
  });
}

// The totals shown equal the API's for the page's own query, and the charts hold what the API returned.
async function checkAgainstApi(page, label) {
  const t = await totals(page);
  const level = await page.$eval("select[name=level]", (s) => s.value);
  const [trend, areas, offenses, heatmap] = await Promise.all([
    api(`/api/trend?${t.query}`), api(`/api/areas?level=${level}&${t.query}`), api(`/api/offenses?${t.query}`), api(`/api/heatmap?${t.query}`),
  ]);
  check(t.trend === sum(trend), `${label}: trend total ${t.trend} != API ${sum(trend)}`);
  check(t.areas === sum(areas), `${label}: areas total ${t.areas} != API ${sum(areas)}`);
  check(t.offenses === sum(offenses), `${label}: offenses total ${t.offenses} != API ${sum(offenses)}`);
  check(t.heatmap === sum(heatmap), `${label}: heatmap total ${t.heatmap} != API ${sum(heatmap)}`);
  check(t.trend > 0, `${label}: nothing to show`);
  check(t.trend === t.areas && t.areas === t.offenses && t.offenses === t.heatmap, `${label}: charts disagree ${JSON.stringify(t)}`);
  const drawn = await page.evaluate(() => ({
    lines: document.querySelectorAll("#trend-chart path.line:not(.prior)").length,
    points: document.querySelectorAll("#trend-chart circle.pt").length,
    partialPoints: document.querySelectorAll("#trend-chart circle.pt.partial").length,
    polygons: document.querySelectorAll("#map path.area").length,
    filled: document.querySelectorAll("#map path.area:not(.empty)").length,
    ranking: document.querySelectorAll("#ranking li").length,
    cells: document.querySelectorAll("#heatmap rect.cell").length,
    cellSum: [...document.querySelectorAll("#heatmap rect.cell")].reduce((s, c) => s + Number(c.dataset.count), 0),
    bars: document.querySelectorAll("#offenses li").length,
    series: [...new Set([...document.querySelectorAll("#trend-chart circle.pt")].map((c) => c.dataset.series))],
  }));
  check(drawn.lines >= 1 && drawn.points > 0, `${label}: trend not drawn ${JSON.stringify(drawn)}`);
  check(drawn.polygons === 58 && drawn.filled > 0, `${label}: map not drawn ${JSON.stringify(drawn)}`);
  check(drawn.ranking === areas.length, `${label}: ranking shows ${drawn.ranking} of ${areas.length} areas`);
  check(drawn.cells === 168 && drawn.cellSum === sum(heatmap), `${label}: heatmap ${JSON.stringify(drawn)}`);
  check(drawn.bars > 0, `${label}: no offense bars`);
  await checkFlags(page, label, trend, areas, drawn.series);
  return { ...t, drawn };
}

// "Is the change real?": the ranking marks exactly the API's significant changes and greys the rest; the trend
// rings exactly the significant months of the series it draws (from a year after the lake's first month).
async function checkFlags(page, label, trend, areas, series) {
  const marks = await page.evaluate(() => ({
    sig: document.querySelectorAll("#ranking .sig").length,
    usual: document.querySelectorAll("#ranking .usual").length,
    rings: [...document.querySelectorAll("#trend-chart circle.sig-ring")].map((c) => `${c.dataset.series} ${c.dataset.month}`).sort(),
  }));
  const shown = areas.filter((r) => r.yoy_pct != null);
  check(marks.sig === shown.filter((r) => r.significant === true).length, `${label}: ranking marks ${marks.sig} significant, API ${JSON.stringify(shown.map((r) => r.significant))}`);
  check(marks.usual === shown.filter((r) => r.significant === false).length, `${label}: ranking greys ${marks.usual}`);
  const health = await api("/api/health");
  const [y, m] = health.reported.first_month.split("-").map(Number);
  const knownFrom = `${y + 1}-${String(m).padStart(2, "0")}`;
  const want = trend.filter((r) => r.significant === true && series.includes(r.category) && r.month >= knownFrom)
    .map((r) => `${r.category} ${r.month}`).sort();
  check(JSON.stringify(marks.rings) === JSON.stringify(want), `${label}: trend rings ${marks.rings} != API ${want}`);
  return marks;
}

const errors = [];
const { context, close } = await launch();
let status = 0;
try {
  const page = context.pages()[0] || (await context.newPage());
  watchErrors(page, errors);

  const t0 = Date.now();
  await page.goto(base + "/");
  let renders = await waitReady(page, 0);
  const firstDrawMs = Date.now() - t0;
  const health = await api("/api/health");
  const url0 = new URL(page.url());
  check(url0.searchParams.get("from") && url0.searchParams.get("to"), `default range not in the URL: ${page.url()}`);
  const asof = await page.textContent("[data-testid=asof]");
  for (const m of health.partial_months) check(asof.includes(m), `header lacks partial month ${m}: ${asof}`);
  check(asof.includes("provisional"), `header lacks provisional mark: ${asof}`);
  // "Provisional" is "less than N% complete", N from the build (/api/health's provisional_rule).
  const rule = health.provisional_rule;
  check(rule && rule.method === "completeness", `provisional not derived from completeness: ${JSON.stringify(rule)}`);
  const provisionalLegend = await page.textContent("[data-testid=provisional-legend]");
  check(provisionalLegend.includes(`less than ${Math.round(rule.complete_share * 1000) / 10}% complete`), `legend lacks the completeness rule: ${provisionalLegend}`);
  // The rows that could not be read, as /api/health counts them (the stand-in warehouse has some).
  check(health.quarantined_rows > 0, `no quarantined rows to show: ${JSON.stringify(health)}`);
  check(asof.includes(`${fmt(health.quarantined_rows)} rows could not be read`), `header lacks the quarantined rows: ${asof}`);
  const initial = await checkAgainstApi(page, "initial");
  check(initial.drawn.partialPoints > 0, "partial months are not drawn distinctly");
  // Completeness: on the occurred axis for the whole city, each drawn series has the nowcast band of its
  // incomplete months in range, at the API's figures.
  const completeness = await api("/api/completeness");
  const bands = await page.$$eval("#trend-chart polygon.nowcast", (ps) => ps.map((p) => ({ series: p.dataset.series, months: p.dataset.months, highs: p.dataset.highs })));
  const [from0, to0] = [url0.searchParams.get("from"), url0.searchParams.get("to")];
  const wantBands = initial.drawn.series.map((c) => {
    const rows = completeness.filter((r) => r.offense_category === c && r.completeness < 1 && r.nowcast_high != null && r.month >= from0 && r.month <= to0);
    return { series: c, months: rows.map((r) => r.month).join(","), highs: rows.map((r) => r.nowcast_high).join(",") };
  }).filter((b) => b.months);
  check(wantBands.length > 0, `no incomplete month to draw a nowcast band for: ${JSON.stringify(completeness.slice(0, 4))}`);
  check(JSON.stringify(bands) === JSON.stringify(wantBands), `nowcast bands ${JSON.stringify(bands)} != API ${JSON.stringify(wantBands)}`);
  // How final are the numbers: each revised month's first and current counts and the typical drift, as the API
  // gives them (the stand-in warehouse revises the six months before the current one).
  const revisions = (await api("/api/revisions")).filter((r) => r.offense_category === "all");
  const drift = await api("/api/revisions/drift");
  check(revisions.length > 0 && drift.length > 0, `stand-in has no revisions to show: ${JSON.stringify(revisions)}`);
  await page.waitForFunction((n) => document.querySelector("#revisions").dataset.months === String(n), revisions.length);
  const revRows = await page.$$eval("#revisions tr[data-month]", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  const wantRev = revisions.slice().reverse().map((r) => {
    const d = r.count - r.first_count;
    const share = pct(Math.round((1000 * d) / r.first_count) / 10);
    return [r.month, r.first_fetched_at.slice(0, 10), fmt(r.first_count), fmt(r.count), `${d > 0 ? "+" : d < 0 ? "−" : "±"}${fmt(Math.abs(d))} (${share})`, fmt(r.versions)];
  });
  check(JSON.stringify(revRows) === JSON.stringify(wantRev), `revision panel ${JSON.stringify(revRows)} != API ${JSON.stringify(wantRev)}`);
  const revCsv = await page.$eval(".final a.csv", (a) => a.getAttribute("href"));
  check(revCsv === "/api/revisions?format=csv", `revision panel's CSV link is ${revCsv}`);
  const driftShown = await page.$$eval("#revisions [data-age]", (ss) => ss.map((x) => [Number(x.dataset.age), Number(x.dataset.median), x.textContent]));
  check(JSON.stringify(driftShown.map((d) => d.slice(0, 2))) === JSON.stringify(drift.map((d) => [d.age_months, d.median_change_pct])), `drift ${JSON.stringify(driftShown)} != API ${JSON.stringify(drift)}`);
  check(driftShown.every((d, i) => d[2].includes(pct(drift[i].median_change_pct)) && d[2].includes(`${fmt(drift[i].months)} months`)), `drift text ${JSON.stringify(driftShown)}`);
  // The expected range from the same months of previous years: one band per drawn series at the API's figures.
  const expected = await api(`/api/expected-range?axis=${url0.searchParams.get("axis") || "occurred"}`);
  const expBands = await page.$$eval("#trend-chart polygon.expected", (ps) => ps.map((p) => ({ series: p.dataset.series, months: p.dataset.months, lows: p.dataset.lows, highs: p.dataset.highs })));
  const wantExp = initial.drawn.series.map((c) => {
    const rows = expected.filter((r) => r.offense_category === c && r.month >= from0 && r.month <= to0);
    return { series: c, months: rows.map((r) => r.month).join(","), lows: rows.map((r) => r.expected_low).join(","), highs: rows.map((r) => r.expected_high).join(",") };
  }).filter((b) => b.months);
  check(wantExp.length > 0, `no expected range to draw: ${JSON.stringify(expected.slice(0, 4))}`);
  check(JSON.stringify(expBands) === JSON.stringify(wantExp), `expected bands ${JSON.stringify(expBands)} != API ${JSON.stringify(wantExp)}`);
  const unmatched = await page.textContent("[data-testid=unmatched]");
  check(/not on the map: .*UNKNOWN/.test(unmatched), `unmatched names not reported: ${unmatched}`);
  await page.screenshot({ path: `${outDir}/dashboard.png`, fullPage: true });

  // A filter changes the charts and the URL.
  await page.selectOption("select[name=category]", "violent");
  renders = await waitReady(page, renders);
  check(new URL(page.url()).searchParams.get("category") === "violent", `category not in URL: ${page.url()}`);
  const violent = await checkAgainstApi(page, "violent");
  check(violent.trend < initial.trend, `violent total ${violent.trend} not below all ${initial.trend}`);
  check(JSON.stringify(violent.drawn.series) === '["violent"]', `trend series ${violent.drawn.series}`);

  // An area filter, chosen from the list the page fills.
  await page.selectOption("select[name=area_level]", "precinct");
  await page.waitForFunction(() => document.querySelectorAll("select[name=area] option").length > 1);
  await page.selectOption("select[name=area]", "North");
  renders = await waitReady(page, renders);
  const url1 = new URL(page.url());
  check(url1.searchParams.get("area_level") === "precinct" && url1.searchParams.get("area") === "North", `area not in URL: ${page.url()}`);
  const north = await checkAgainstApi(page, "violent+North");
  check(north.trend < violent.trend, "the area filter did not narrow the charts");

  // Drill down from sub-category to offense; the drill-down lives in the URL too.
  const sub = await page.$eval("#offenses button.bar-row", (b) => b.dataset.key);
  await page.click("#offenses button.bar-row");
  await page.waitForFunction(() => document.querySelector("#crumbs b") !== null);
  check(new URL(page.url()).searchParams.get("sub") === sub, `drill-down not in URL: ${page.url()}`);
  const drill = await page.$$eval("#offenses li", (l) => l.length);

  // Reload the URL: the same view.
  const shared = page.url();
  await page.goto(shared);
  await waitReady(page, 0);
  const again = await checkAgainstApi(page, "reloaded");
  check(again.trend === north.trend && again.query === north.query, `reload gave another view: ${JSON.stringify([again, north])}`);
  check((await page.$eval("select[name=category]", (s) => s.value)) === "violent", "category select not restored");
  check((await page.$eval("select[name=area]", (s) => s.value)) === "North", "area select not restored");
  check((await page.textContent("#crumbs b")) === sub && (await page.$$eval("#offenses li", (l) => l.length)) === drill, "drill-down not restored");
  await page.screenshot({ path: `${outDir}/filtered.png`, fullPage: true });

  // A range of final months: the ranking compares every area with the year before, marking or greying each.
  await page.goto(base + "/?from=2024-04&to=2025-03");
  await waitReady(page, 0);
  const final = await checkAgainstApi(page, "final range");
  const marks = await page.evaluate(() => document.querySelectorAll("#ranking .sig, #ranking .usual").length);
  check(marks === final.drawn.ranking && marks > 0, `final range: ${marks} of ${final.drawn.ranking} areas marked or greyed`);
  await page.screenshot({ path: `${outDir}/significance.png`, fullPage: true });

  // Usable on a phone: one column, no horizontal scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/");
  await waitReady(page, 0);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `page scrolls sideways on a phone by ${overflow}px`);
  await page.screenshot({ path: `${outDir}/phone.png`, fullPage: true });

  check(errors.length === 0, `browser errors:\n${errors.join("\n")}`);
  console.log(JSON.stringify({ firstDrawMs, initial: initial.trend, violent: violent.trend, north: north.trend, drill }));
  console.log("browser check: ok");
} catch (e) {
  console.error(`browser check FAILED: ${e.message}`);
  if (errors.length) console.error(errors.join("\n"));
  status = 1;
} finally {
  await close();
}
process.exit(status);
