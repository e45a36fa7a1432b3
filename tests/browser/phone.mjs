// The phone layout: node phone.mjs <base-url> <output-dir>
// Device emulation at 390 px (a mobile viewport, touch, 3x pixels): nothing scrolls sideways, every chart fits
// inside its panel (not squeezed, nothing drawn outside it), a tap shows a chart's tooltip, a second tap on a map
// area filters by it, and axe-core finds no serious or critical violation in this layout.
import { launch } from "./chromium.mjs";
import { apiAt, axe, check, fmt, main, waitReady, watchErrors } from "./lib.mjs";

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error("usage: node phone.mjs <base-url> <output-dir>");
  process.exit(2);
}
const api = apiAt(base);
const errors = [];

// Every way a chart could spill out of its panel, measured in the page.
function measure() {
  const out = { sideways: document.documentElement.scrollWidth - window.innerWidth, problems: [] };
  const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
  for (const card of document.querySelectorAll(".card")) {
    const name = card.querySelector("h2").textContent;
    const box = card.getBoundingClientRect();
    if (box.right > window.innerWidth + 0.5 || box.left < -0.5) out.problems.push(`${name}: panel ${box.left}..${box.right} outside the window`);
    for (const el of [card, ...card.querySelectorAll(".ranking, .bars, .chart, .map")]) {
      if (el.scrollWidth > el.clientWidth + 1) out.problems.push(`${name}: ${el.className} scrolls sideways (${el.scrollWidth} > ${el.clientWidth})`);
    }
    for (const svg of card.querySelectorAll("svg")) {
      const r = svg.getBoundingClientRect();
      const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
      if (!inside(r, box)) out.problems.push(`${name}: chart ${r.left}..${r.right} x ${r.top}..${r.bottom} outside its panel`);
      if (r.width < w - 1 || r.height < h - 1) out.problems.push(`${name}: chart squeezed to ${r.width}x${r.height} of ${w}x${h}`);
      const b = svg.getBBox();
      if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5) out.problems.push(`${name}: drawing ${JSON.stringify([b.x, b.y, b.width, b.height])} exceeds ${w}x${h}`);
      const legend = svg.closest(".chart") && svg.closest(".chart").querySelector(".legend");
      if (legend && legend.getBoundingClientRect().top < r.bottom - 1) out.problems.push(`${name}: legend overlaps the chart`);
    }
  }
  return out;
}

// Taps the centre of an element that is on top there (scrolled into view first); returns whether it was on top.
async function tap(page, handle) {
  await handle.scrollIntoViewIfNeeded();
  // Let the scroll's own event pass first (a scroll closes the tooltip).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const box = await handle.boundingBox();
  const x = box.x + box.width / 2, y = box.y + box.height / 2;
  const onTop = await page.evaluate(([el, x, y]) => document.elementFromPoint(x, y) === el, [handle, x, y]);
  if (onTop) await page.touchscreen.tap(x, y);
  return onTop;
}

const tooltip = (page) => page.evaluate(() => { const t = document.getElementById("tooltip"); return t.hidden ? null : t.innerText; });

const { context, close } = await launch({ width: 390, height: 844 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 3 });
const status = await main("phone check", errors, async () => {
  const page = context.pages()[0] || (await context.newPage());
  watchErrors(page, errors);
  await page.goto(base + "/");
  let renders = await waitReady(page, 0);
  check((await page.evaluate(() => window.innerWidth)) === 390, "the emulated viewport is not 390 px wide");
  const m = await page.evaluate(measure);
  check(m.sideways <= 1, `the page scrolls sideways by ${m.sideways}px`);
  check(m.problems.length === 0, `charts do not fit their panels:\n${m.problems.join("\n")}`);
  check(await page.evaluate(() => document.querySelectorAll(".card svg").length) === 3, "expected the trend, the map and the heatmap");
  await page.screenshot({ path: `${outDir}/phone-390.png`, fullPage: true });
  const violations = await axe(page, "phone");
  console.log(JSON.stringify({ axe: violations }));
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  check(bad.length === 0, `axe-core on the phone layout:\n${JSON.stringify(bad, null, 1)}`);

  // A tap on a month shows its figures.
  const query = await page.evaluate(() => document.body.dataset.query);
  const trend = await api(`/api/trend?${query}`);
  const months = [...new Set(trend.map((r) => r.month))];
  const k = months.length - 6;
  check(await tap(page, await page.$(`#trend-chart rect.hover[data-i="${k}"]`)), "the trend's month is not on top");
  const v = trend.find((r) => r.month === months[k] && r.category === "property");
  let tip = await tooltip(page);
  check(tip && tip.includes(months[k]) && tip.includes(fmt(v.count)), `tap on ${months[k]}: tooltip ${tip}`);

  // A tap on a heatmap cell.
  const cell = await page.$("#heatmap rect.cell[data-i='30']");
  check(await tap(page, cell), "the heatmap cell is not on top");
  tip = await tooltip(page);
  check(tip && tip.includes(fmt(Number(await cell.getAttribute("data-count")))), `tap on a cell: tooltip ${tip}`);

  // The first tap on a map area shows it, the second filters by it.
  let area = null;
  for (const p of await page.$$("#map path.area:not(.empty)")) {
    if (await tap(page, p)) { area = p; break; }
  }
  check(area, "no map area could be tapped");
  const name = await area.getAttribute("data-name");
  tip = await tooltip(page);
  check(tip && tip.includes(name), `tap on ${name}: tooltip ${tip}`);
  check(!new URL(page.url()).searchParams.get("area"), "the first tap on an area already filtered");
  await tap(page, area);
  renders = await waitReady(page, renders);
  check(new URL(page.url()).searchParams.get("area_level") === "neighborhood", `the second tap did not filter: ${page.url()}`);
  const after = await page.evaluate(measure);
  check(after.sideways <= 1 && after.problems.length === 0, `filtered view: ${JSON.stringify(after)}`);
});
await close();
process.exit(status);
