// Caching and compression as Chromium sees them: node cache.mjs <base-url>
// Two loads of the page in one browser profile (the second in a new tab, after the first tab closed). The first
// downloads every asset, compressed; the second revalidates the page (304 against its ETag) and takes every asset
// from the browser's cache, downloading no asset body again. Prints the request log of both loads as JSON.
import { launch } from "./chromium.mjs";
import { check, main, watchErrors } from "./lib.mjs";

const [base] = process.argv.slice(2);
if (!base) {
  console.error("usage: node cache.mjs <base-url>");
  process.exit(2);
}
const errors = [];

// Loads the page in `page` and returns one entry per request, from the DevTools protocol's network events: the
// status the page saw, the status on the wire (a revalidated response is a 304 there and a 200 to the page), where
// the response came from, its content encoding, bytes on the wire and decoded body bytes.
async function load(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const log = new Map();
  const wireStatus = new Map();
  const at = (id) => log.get(id) || {};
  cdp.on("Network.requestWillBeSent", (e) => {
    if (!e.request.url.startsWith("data:")) log.set(e.requestId, { url: e.request.url.replace(base, ""), status: null, wireStatus: null, from: "network", encoding: "", wire: 0, body: 0 });
  });
  // (This event may come before or after the others of its request.)
  cdp.on("Network.responseReceivedExtraInfo", (e) => wireStatus.set(e.requestId, e.statusCode));
  cdp.on("Network.requestServedFromCache", (e) => { at(e.requestId).from = "memory cache"; });
  cdp.on("Network.responseReceived", (e) => {
    const r = at(e.requestId);
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    r.status = e.response.status;
    if (e.response.fromDiskCache) r.from = "disk cache";
    r.encoding = h["content-encoding"] || "";
    r.cache = h["cache-control"] || "";
  });
  cdp.on("Network.dataReceived", (e) => { at(e.requestId).body += e.dataLength; });
  cdp.on("Network.loadingFinished", (e) => { at(e.requestId).wire = e.encodedDataLength; });
  await page.goto(base + "/");
  await page.waitForFunction(() => document.body.dataset.state === "ready" && document.querySelectorAll("#map path.area").length === 58, null, { timeout: 15000 });
  await page.waitForLoadState("networkidle");
  await cdp.detach();
  return [...log].map(([id, r]) => ({ ...r, wireStatus: wireStatus.get(id) ?? null }));
}

const { context, close } = await launch();
const status = await main("cache check", errors, async () => {
  const first = context.pages()[0] || (await context.newPage());
  watchErrors(first, errors);
  const one = await load(first);
  await first.close();
  const second = await context.newPage();
  watchErrors(second, errors);
  const two = await load(second);
  console.log(JSON.stringify({ first: one, second: two }));

  const assets = (log) => log.filter((r) => r.url.startsWith("/assets/"));
  const page1 = one.find((r) => r.url === "/"), page2 = two.find((r) => r.url === "/");
  check(page1 && page1.status === 200, `first load of the page: ${JSON.stringify(page1)}`);
  const names = ["app.css", "charts.js", "app.js", "neighborhoods.geojson"];
  for (const n of names) {
    const r = assets(one).find((x) => x.url.startsWith(`/assets/${n}?v=`));
    check(r && r.status === 200 && r.from === "network", `first load of ${n}: ${JSON.stringify(r)}`);
    check(r.cache.includes("immutable") && r.cache.includes("max-age=31536000"), `${n} is not cached for good: ${r.cache}`);
    check(["br", "gzip"].includes(r.encoding) && r.wire < r.body, `${n} is not compressed: ${JSON.stringify(r)}`);
  }
  check(page2 && page2.wireStatus === 304, `the second load should revalidate the page (304): ${JSON.stringify(page2)}`);
  const fetched = assets(two).filter((r) => r.from === "network" && r.wireStatus !== 304);
  check(fetched.length === 0, `the second load downloaded assets again: ${JSON.stringify(fetched)}`);
  const drawnFromCache = assets(two).filter((r) => r.from !== "network");
  check(drawnFromCache.length >= names.length, `the second load should take the assets from the cache: ${JSON.stringify(assets(two))}`);
});
await close();
process.exit(status);
