// Launches Debian's Chromium through playwright-core with a fresh profile (shared by check.mjs and pageload.mjs).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// `device` adds emulation options (isMobile, hasTouch, deviceScaleFactor) to the context.
export async function launch(viewport = { width: 1440, height: 900 }, device = {}) {
  const profile = mkdtempSync(join(tmpdir(), "crimewatch-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport,
    ...device,
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}
