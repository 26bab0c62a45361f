import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO_ROOT } from "@realname/agent";

/** Debian's Chromium (never a browser download): `apt-get install chromium` (see the README). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `extraArgs`: further switches, e.g. a fake camera (`--use-file-for-fake-video-capture=…`). */
export async function launchChromium(options: { extraArgs?: string[] } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium fonts-wqy-microhei), as the README's install step says`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", ...(options.extraArgs ?? [])],
  });
}

export const SCREENSHOTS = join(REPO_ROOT, "test-output", "screenshots");

/** A full-page screenshot into test-output/screenshots (numbered in the order the flow takes them). */
let shot = 0;
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${String(++shot).padStart(2, "0")}-${name}.png`), fullPage: true });
}

/** What a person reads on the page (the visible text of <main>). */
export async function visibleText(page: Page): Promise<string> {
  return page.locator("main").innerText();
}

/** Layout and labelling checks every page must pass: readable on a phone, every field labelled. */
export async function auditPage(page: Page): Promise<{ overflowX: number; unlabelled: string[] }> {
  return page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => (el as HTMLInputElement).type !== "hidden")
      .filter((el) => !((el as HTMLInputElement).labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")))
      .map((el) => el.outerHTML.slice(0, 120));
    return { overflowX: document.documentElement.scrollWidth - window.innerWidth, unlabelled };
  });
}
