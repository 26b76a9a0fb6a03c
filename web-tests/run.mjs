// Browser tests of the Piazza web client: headless Debian chromium driven
// by playwright-core, against a running server.
//
//   node web-tests/run.mjs --base-url http://127.0.0.1:8080 [--out DIR] [--only NAME[,NAME…]]
//
// Each scenario gets fresh browser contexts, saves a screenshot to
// <out>/<scenario>.png at its end and, when it fails, a Playwright trace to
// <out>/<scenario>-trace.zip (one per context: -trace-2.zip, …) and the
// error on stderr. Scenarios run one after another; the exit code is 1 if
// any failed. Users get fresh names each run, so a server can be reused.

//
// Scenarios live in scenarios/<area>.mjs (one file per area of the client,
// loaded in name order); harness.mjs holds what they share.

import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

import { CHROMIUM, SCENARIO_TIMEOUT_MS, args, assets, fail, here, repo, scenarios } from './harness.mjs';

for (const file of readdirSync(join(here, 'scenarios')).filter((f) => f.endsWith('.mjs')).sort()) {
  await import(pathToFileURL(join(here, 'scenarios', file)).href);
}

/** Checks the message catalogs before any browser starts. */
function checkCatalogs() {
  const catalogs = Object.fromEntries(
    ['en', 'zh', 'it'].map((code) => [code, JSON.parse(readFileSync(join(assets, `i18n/${code}.json`), 'utf8'))]),
  );
  const problems = [];
  const english = Object.keys(catalogs.en);
  for (const [code, catalog] of Object.entries(catalogs)) {
    for (const key of english) if (!catalog[key]) problems.push(`${code}: missing ${key}`);
    for (const key of Object.keys(catalog)) if (!(key in catalogs.en)) problems.push(`${code}: extra ${key}`);
  }
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.js')) files.push(path);
    }
  };
  walk(assets);
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    for (const [, key] of source.matchAll(/\bt\('([a-z_]+\.[a-z_.]+)'/g)) {
      if (!(key in catalogs.en)) problems.push(`${file.slice(repo.length + 1)}: t('${key}') not in the catalog`);
    }
  }
  if (problems.length) fail(`message catalogs:\n  ${problems.join('\n  ')}`);
}

async function runScenario(browser, { name, body }) {
  const contexts = [];
  const shots = [];
  const consoleErrors = [];
  const allowedErrors = [/Failed to load resource|WebSocket/];
  const t = {
    /** A page in a fresh context; other options (colorScheme, permissions, …) go to the context. */
    async page({ viewport, name: label = null, locale = 'en-US', ...options }) {
      const context = await browser.newContext({ viewport, locale, ...options });
      await context.tracing.start({ screenshots: true, snapshots: true });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (error) => consoleErrors.push(`${label ?? 'main'}: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`${label ?? 'main'}: ${message.text()}`);
      });
      return page;
    },
    screenshot(page, suffix = null) {
      shots.push({ page, file: join(args.out, suffix ? `${name}-${suffix}.png` : `${name}.png`) });
    },
    /** A screenshot of the page as it is now (the end state gets its own). */
    async screenshotNow(page, suffix) {
      const file = join(args.out, `${name}-${suffix}.png`);
      await page.screenshot({ path: file });
      console.log(`  saved ${file}`);
    },
    metric(line) {
      console.log(`  · ${line}`);
    },
    /** Console errors matching `pattern` are what the scenario provokes, not failures. */
    allowConsoleErrors(pattern) {
      allowedErrors.push(pattern);
    },
    /** The page's console errors (and uncaught exceptions) so far. */
    consoleErrors() {
      return [...consoleErrors];
    },
  };
  const started = Date.now();
  let error = null;
  let timer;
  try {
    await Promise.race([
      body(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS);
      }),
    ]);
    // Uncaught exceptions in the page are failures; console errors from
    // refused connections (a revoked socket, a 401) are expected noise.
    const thrown = consoleErrors.filter((line) => !allowedErrors.some((pattern) => pattern.test(line)));
    if (thrown.length) throw new Error(`errors in the page:\n  ${thrown.join('\n  ')}`);
  } catch (caught) {
    error = caught;
  } finally {
    clearTimeout(timer);
  }
  if (!shots.length && contexts.length) {
    const pages = contexts[0].pages();
    if (pages.length) shots.push({ page: pages[0], file: join(args.out, `${name}.png`) });
  }
  const files = [];
  for (const shot of shots) {
    try {
      await shot.page.screenshot({ path: shot.file });
      files.push(shot.file);
    } catch (screenshotError) {
      console.error(`  screenshot ${shot.file}: ${screenshotError.message}`);
    }
  }
  for (const [index, context] of contexts.entries()) {
    try {
      if (error) {
        const path = join(args.out, index ? `${name}-trace-${index + 1}.zip` : `${name}-trace.zip`);
        await context.tracing.stop({ path });
        files.push(path);
      } else {
        await context.tracing.stop();
      }
    } catch {
      // A context that crashed has no trace to give.
    }
    await context.close().catch(() => {});
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (error) {
    console.error(`✗ ${name} (${seconds} s): ${error.stack ?? error}`);
    if (consoleErrors.length) console.error(`  page console:\n    ${consoleErrors.join('\n    ')}`);
  } else {
    console.log(`✓ ${name} (${seconds} s)`);
  }
  for (const file of files) console.log(`  saved ${file}`);
  return !error;
}

async function main() {
  mkdirSync(args.out, { recursive: true });
  checkCatalogs();
  const health = await fetch(`${args.baseUrl}/healthz`).catch((error) => fail(`server at ${args.baseUrl}: ${error.message}`));
  if (!health.ok) fail(`server at ${args.baseUrl}: /healthz ${health.status}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers often run tests as root, where chromium's sandbox cannot
    // start. The fake camera (a moving test pattern) is what the QR
    // scanner films when a scenario lets a page use the camera.
    args: ['--no-sandbox', '--use-fake-device-for-media-stream'],
  });
  const named = args.only ? args.only.split(',') : null;
  const chosen = scenarios.filter((one) => (named ? named.includes(one.name) : !one.cluster));
  if (named && chosen.length !== named.length) fail(`no such scenario among ${named.join(', ')}`);
  const started = Date.now();
  let failed = 0;
  try {
    for (const one of chosen) {
      if (!(await runScenario(browser, one))) failed += 1;
    }
  } finally {
    await browser.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${failed ? 'FAILED' : 'passed'}: ${failed} of ${chosen.length} scenarios failed, ${seconds} s`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
});
