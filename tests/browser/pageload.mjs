// Time to a fully drawn dashboard: node pageload.mjs <base-url> <runs>
// Each run starts a fresh Chromium profile (cold HTTP cache) and reports the page's own performance.now() at its
// first "ready" (all charts drawn); prints {"runs_ms": [...]} on stdout.
import { launch } from "./chromium.mjs";

const [base, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const out = [];
for (let i = 0; i < runs; i++) {
  const { context, close } = await launch();
  try {
    const page = context.pages()[0] || (await context.newPage());
    await page.goto(base + "/");
    await page.waitForFunction(() => document.body.dataset.state === "ready" && document.body.dataset.readyMs, null, { timeout: 30000 });
    out.push(Number(await page.evaluate(() => document.body.dataset.readyMs)));
  } finally {
    await close();
  }
}
console.log(JSON.stringify({ runs_ms: out }));
