// Accessibility of the dashboard: node a11y.mjs <base-url> <no-data-base-url>
// - axe-core (injected by this script, never served by crimewatch) finds no serious or critical violation on the
//   dashboard, with a keyboard tooltip open, with an area filter and a drill-down, and on the "no data yet" page;
// - Tab reaches every chart, and the arrow keys give the tooltip a mouse gets (Enter on a map area filters by it,
//   as a click does);
// - each chart's text summary (its accessible name and its hidden table) holds the figures of the API rows the
//   chart draws, and the year-earlier line has a gap where the lake holds no data a year earlier.
// Prints every axe violation (any impact) as JSON, then "a11y check: ok".
import { launch } from "./chromium.mjs";
import { addMonths, apiAt, axe, check, fmt, main, pct, sum, waitReady, watchErrors } from "./lib.mjs";

const [base, emptyBase] = process.argv.slice(2);
if (!base || !emptyBase) {
  console.error("usage: node a11y.mjs <base-url> <no-data-base-url>");
  process.exit(2);
}
const api = apiAt(base);
const errors = [];
const found = [];
const CHARTS = ["trend-chart", "map", "ranking", "offenses", "heatmap"];
const LABELS = { Violent: "violent", Property: "property", "All other": "other" };

// The hidden table and the accessible name of each SVG chart, as the page holds them.
function readSummaries(page) {
  return page.evaluate(() => Object.fromEntries(["trend-chart", "map", "heatmap"].map((id) => {
    const t = document.querySelector(`#${id} .sr-only table`);
    const cells = (row) => [...row.cells].map((c) => c.textContent);
    return [id, { head: cells(t.tHead.rows[0]), rows: [...t.tBodies[0].rows].map(cells), label: document.querySelector(`#${id} svg`).getAttribute("aria-label") }];
  })));
}

async function checkSummaries(page, health) {
  const query = await page.evaluate(() => document.body.dataset.query);
  const level = await page.$eval("select[name=level]", (s) => s.value);
  const axis = new URLSearchParams(query).get("axis") || "occurred";
  const cityWide = !new URLSearchParams(query).get("area");
  const [trend, map, areas, offenses, heatmap, expected] = await Promise.all([
    api(`/api/trend?${query}`), api(`/api/areas?level=neighborhood&${query}`), api(`/api/areas?level=${level}&${query}`),
    api(`/api/offenses?${query}`), api(`/api/heatmap?${query}`), api(`/api/expected-range?axis=${axis}`),
  ]);
  const s = await readSummaries(page);

  // Trend: one row per month; per series its count, the year-earlier count, the change and (city-wide) the range
  // expected from the same months of previous years. A year-earlier month
  // before the lake's first reported month has no data: the page shows none (the API's figure there only counts
  // late reports), and draws no point for it.
  const months = [...new Set(trend.map((r) => r.month))];
  const knownFrom = addMonths(health.reported.first_month, 12);
  const series = s["trend-chart"].head.slice(1).filter((_, j) => j % 4 === 0).map((l) => LABELS[l]);
  check(series.length >= 2, `trend table series ${JSON.stringify(s["trend-chart"].head)}`);
  check(s["trend-chart"].rows.length === months.length, `trend table has ${s["trend-chart"].rows.length} rows for ${months.length} months`);
  let blanked = 0, ranged = 0;
  months.forEach((m, i) => {
    const row = s["trend-chart"].rows[i];
    check(row[0].startsWith(m), `trend table row ${i} is ${row[0]}, expected ${m}`);
    series.forEach((c, k) => {
      const r = trend.find((x) => x.month === m && x.category === c);
      const known = m >= knownFrom;
      if (!known && r.prior_year_count != null) blanked += 1;
      // The change carries the API's verdict in words: beyond or within usual variation (none when not compared).
      const verdict = !known || r.significant == null ? "" : r.significant ? " (beyond usual variation)" : " (within usual variation)";
      const e = cityWide ? expected.find((x) => x.month === m && x.offense_category === c) : null;
      if (e) ranged += 1;
      const range = e ? `${fmt(e.expected_low)}–${fmt(e.expected_high)}` : "–";
      const want = [fmt(r.count), fmt(known ? r.prior_year_count : null), pct(known ? r.yoy_pct : null) + verdict, range];
      const got = row.slice(1 + 4 * k, 5 + 4 * k);
      check(JSON.stringify(got) === JSON.stringify(want), `trend table ${m} ${c}: ${JSON.stringify(got)} != API ${JSON.stringify(want)}`);
    });
  });
  check(blanked > 0, "the fixture should hold year-earlier months the lake does not cover");
  check(!cityWide || ranged > 0, "the city-wide trend table should show expected ranges");
  for (const c of series) {
    const label = Object.keys(LABELS).find((l) => LABELS[l] === c);
    const total = sum(trend.filter((r) => r.category === c));
    check(s["trend-chart"].label.includes(`${label} ${fmt(total)}`), `trend name lacks ${label} ${fmt(total)}: ${s["trend-chart"].label}`);
  }
  const firstKnown = months.findIndex((m) => m >= knownFrom);
  const gap = await page.evaluate((k) => {
    const r = document.querySelector(`#trend-chart rect.hover[data-i="${k}"]`);
    const x = r.x.baseVal.value + r.width.baseVal.value / 2;
    const xs = [...document.querySelectorAll("#trend-chart path.line.prior")].flatMap((p) => [...p.getAttribute("d").matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1])));
    return { x, min: Math.min(...xs), n: xs.length };
  }, firstKnown);
  check(gap.n > 0 && gap.min >= gap.x - 0.5, `year-earlier line starts at x=${gap.min}, before its first known month at x=${gap.x}`);

  // Map: one row per polygon with offenses, its count summed over the data names mapped to it.
  const byPolygon = new Map();
  for (const r of map.filter((r) => r.polygon)) byPolygon.set(r.polygon, (byPolygon.get(r.polygon) || 0) + r.count);
  const mapRows = new Map(s.map.rows.map((r) => [r[0], r[1]]));
  check(mapRows.size === byPolygon.size, `map table has ${mapRows.size} areas, API ${byPolygon.size}`);
  for (const [p, n] of byPolygon) check(mapRows.get(p) === fmt(n), `map table ${p}: ${mapRows.get(p)} != API ${fmt(n)}`);
  const top = [...byPolygon].sort((a, b) => b[1] - a[1])[0];
  check(s.map.label.includes(`${fmt(top[1])} (${top[0]})`), `map name lacks the top area ${top}: ${s.map.label}`);

  // Heatmap: weekdays by hours; the name says the busiest cell.
  check(s.heatmap.rows.length === 7 && s.heatmap.rows.every((r) => r.length === 25), "heatmap table is not 7 x 24");
  for (const c of heatmap) {
    const got = s.heatmap.rows[c.weekday][c.hour + 1];
    check(got === fmt(c.count), `heatmap table ${c.weekday}/${c.hour}: ${got} != API ${fmt(c.count)}`);
  }
  const busiest = Math.max(...heatmap.map((c) => c.count));
  check(s.heatmap.label.includes(`(${fmt(busiest)})`), `heatmap name lacks the busiest cell ${busiest}: ${s.heatmap.label}`);

  // The two lists are named with their largest row.
  const names = await page.evaluate(() => ({ ranking: document.querySelector("#ranking").getAttribute("aria-label"), offenses: document.querySelector("#offenses").getAttribute("aria-label") }));
  check(names.ranking.includes(`${areas[0].area} (${fmt(areas[0].count)})`), `ranking name: ${names.ranking}`);
  const subs = new Map();
  for (const r of offenses) subs.set(r.offense_sub_category, (subs.get(r.offense_sub_category) || 0) + r.count);
  const biggest = [...subs].sort((a, b) => b[1] - a[1])[0];
  check(names.offenses.includes(`${biggest[0]} (${fmt(biggest[1])})`), `offenses name: ${names.offenses}`);
  return { trend, heatmap, months };
}

const tooltip = (page) => page.evaluate(() => { const t = document.getElementById("tooltip"); return t.hidden ? null : t.innerText; });

async function checkKeyboard(page, { trend, heatmap, months }) {
  // Tab from the top of the page reaches every chart.
  await page.mouse.click(2, 2);
  const reached = new Set();
  for (let i = 0; i < 200 && reached.size < CHARTS.length; i++) {
    await page.keyboard.press("Tab");
    const id = await page.evaluate((ids) => { const c = document.activeElement.closest(ids.map((x) => "#" + x).join(",")); return c ? c.id : null; }, CHARTS);
    if (id) reached.add(id);
  }
  check(reached.size === CHARTS.length, `Tab reaches only ${[...reached]} of ${CHARTS}`);

  // Arrow keys on the trend: the month's figures, also said in the live region; Escape closes.
  await page.focus("#trend-chart svg");
  await page.keyboard.press("ArrowRight");
  const v0 = trend.find((r) => r.month === months[0] && r.category === "violent");
  let tip = await tooltip(page);
  check(tip && tip.includes(months[0]) && tip.includes(fmt(v0.count)), `trend tooltip by keyboard: ${tip}`);
  await page.keyboard.press("End");
  tip = await tooltip(page);
  check(tip && tip.includes(months[months.length - 1]), `End should show the last month: ${tip}`);
  const live = await page.textContent("#chart-live");
  check(live.includes(months[months.length - 1]), `live region: ${live}`);
  await page.keyboard.press("Escape");
  check((await tooltip(page)) === null, "Escape leaves the tooltip open");

  // Heatmap: Right starts at Monday 00, Down moves a day.
  await page.focus("#heatmap svg");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowDown");
  const tue0 = heatmap.find((c) => c.weekday === 1 && c.hour === 0);
  tip = await tooltip(page);
  check(tip && tip.includes("Tue 00:00") && tip.includes(fmt(tue0.count)), `heatmap tooltip by keyboard: ${tip}`);
  found.push(...(await axe(page, "keyboard tooltip")));

  // A mouse still gets the same tooltip.
  await page.hover(`#trend-chart rect.hover[data-i="3"]`);
  tip = await tooltip(page);
  check(tip && tip.includes(months[3]), `trend tooltip on hover: ${tip}`);
}

// Map by mouse: a click on an area filters by it at once (a touch needs two taps: phone.mjs); Back undoes it.
async function mapByMouse(page) {
  let renders = Number(await page.evaluate(() => document.body.dataset.renders));
  for (const p of await page.$$("#map path.area:not(.empty)")) {
    const box = await p.boundingBox();
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    if (!(await page.evaluate(([el, x, y]) => document.elementFromPoint(x, y) === el, [p, x, y]))) continue;
    await page.mouse.click(x, y);
    renders = await waitReady(page, renders);
    const url = new URL(page.url());
    check(url.searchParams.get("area_level") === "neighborhood" && url.searchParams.get("area"), `a click on a map area did not filter: ${page.url()}`);
    await page.goBack();
    await waitReady(page, renders);
    check(!new URL(page.url()).searchParams.get("area"), `Back kept the area filter: ${page.url()}`);
    return;
  }
  throw new Error("no map area could be clicked");
}

// Map by keyboard: step to the first area with offenses and press Enter: the page filters by it.
async function mapByKeyboard(page) {
  const renders = Number(await page.evaluate(() => document.body.dataset.renders));
  await page.focus("#map svg");
  let tip = null;
  for (let i = 0; i < 58; i++) {
    await page.keyboard.press("ArrowRight");
    tip = await tooltip(page);
    if (tip && !tip.includes("no offenses")) break;
  }
  check(tip && tip.includes("offenses"), `no map area with offenses reached by keyboard: ${tip}`);
  await page.keyboard.press("Enter");
  await waitReady(page, renders);
  const url = new URL(page.url());
  check(url.searchParams.get("area_level") === "neighborhood" && url.searchParams.get("area"), `Enter on a map area did not filter: ${page.url()}`);
}

const { context, close } = await launch();
const status = await main("a11y check", errors, async () => {
  const page = context.pages()[0] || (await context.newPage());
  watchErrors(page, errors);
  await page.goto(base + "/");
  await waitReady(page, 0);
  found.push(...(await axe(page, "dashboard")));
  const health = await api("/api/health");
  const drawn = await checkSummaries(page, health);
  await checkKeyboard(page, drawn);
  await mapByMouse(page);
  await mapByKeyboard(page);
  await page.click("#offenses button.bar-row");
  await page.waitForFunction(() => document.querySelector("#crumbs b") !== null);
  found.push(...(await axe(page, "area filter and drill-down")));

  const empty = await context.newPage();
  await empty.goto(emptyBase + "/");
  await empty.waitForFunction(() => document.body.dataset.state === "nodata", null, { timeout: 15000 });
  found.push(...(await axe(empty, "no data yet")));

  console.log(JSON.stringify({ axe: found }));
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe-core found serious or critical violations:\n${JSON.stringify(bad, null, 1)}`);
});
await close();
process.exit(status);
