import { chromium, type Page } from 'playwright-core';

/** Debian's chromium only: playwright must never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  consoleErrors: string[];
  /** Every URL the page requested, its own included. */
  requests: string[];
}

/**
 * Opens `url` (a page from disk) in a fresh headless chromium with scripts off, watching what the
 * report pages must never do (log an error, make a request), runs `check`, and closes the browser.
 */
export async function withChromiumPage<T>(url: string, options: { viewport?: { width: number; height: number } }, check: (watched: WatchedPage) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ javaScriptEnabled: false, ...(options.viewport ? { viewport: options.viewport } : {}) });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(url, { waitUntil: 'load' });
    return await check({ page, consoleErrors, requests });
  } finally {
    await browser.close();
  }
}
