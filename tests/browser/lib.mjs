// Helpers shared by the browser checks (check.mjs, a11y.mjs, phone.mjs, cache.mjs).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export function check(cond, message) {
  if (!cond) throw new Error(message);
}

// GET base+path as JSON, failing on a non-2xx answer.
export function apiAt(base) {
  return async (path) => {
    const r = await fetch(base + path);
    check(r.ok, `GET ${path} answered ${r.status}`);
    return r.json();
  };
}

export const sum = (rows) => rows.reduce((s, r) => s + r.count, 0);

// The page's own number and percent formats (charts.js), to compare what it shows with the API's figures.
export const fmt = (n) => (n == null ? "–" : Number(n).toLocaleString("en-US"));
export const pct = (p) => (p == null ? "–" : (p > 0 ? "+" : "") + p.toFixed(1) + "%");

export function addMonths(ym, n) {
  const [y, m] = ym.split("-").map(Number);
  const t = y * 12 + (m - 1) + n;
  return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, "0")}`;
}

// Waits until the page has drawn more than `after` times and is ready; returns its render count.
export async function waitReady(page, after) {
  await page.waitForFunction((n) => document.body.dataset.state === "ready" && Number(document.body.dataset.renders || 0) > n, after, { timeout: 15000 });
  return Number(await page.evaluate(() => document.body.dataset.renders));
}

// Collects console errors, CSP violations, page errors, failed requests and HTTP errors of `page` into `errors`.
export function watchErrors(page, errors) {
  // A Content-Security-Policy violation (an inline style or script the page's policy refuses) is an error too.
  page.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile || "page"}:${e.lineNumber})`)))
    .catch((e) => errors.push(`addInitScript: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`); });
}

// Runs axe-core in the page (injected from node_modules by the test, never served by crimewatch) and returns
// its violations; `where` names the page state in messages. Injected through the DevTools protocol
// (`evaluate`), not as a <script> element: the page's Content-Security-Policy rightly refuses inline scripts.
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export async function axe(page, where) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, target: v.nodes[0] && v.nodes[0].target.join(" ") })));
  return violations.map((v) => ({ where, ...v }));
}

// Runs `body` and exits non-zero with its message on failure; prints "<name>: ok" on success.
export async function main(name, errors, body) {
  let status = 0;
  try {
    await body();
    check(errors.length === 0, `browser errors:\n${errors.join("\n")}`);
    console.log(`${name}: ok`);
  } catch (e) {
    console.error(`${name} FAILED: ${e.message}`);
    if (errors.length) console.error(errors.join("\n"));
    status = 1;
  }
  return status;
}
