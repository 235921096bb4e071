import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { runSeedship } from '../support/cli.js';
import { tempDir, writeTree } from '../support/tree.js';
import { writeRunLog, type SyntheticDrive } from '../support/run-log-lines.js';

const CHROMIUM = '/usr/bin/chromium';
const MiB = 1024 * 1024;
/** A file name that runs script if the page ever lets markup from a name through. */
const TRAP = '<img src=x onerror=alert(1)>.txt';

/**
 * Run logs of a night-long job, written beside the real session: two HDD-like drives that slow
 * down on their inner tracks, a resume the next morning, a warning, and a verify of each drive.
 */
function addRunLogs(session: string, drives: { driveId: string; path: string }[]): void {
  const start = Date.UTC(2026, 11, 1, 20, 0, 0);
  const hdd = (peak: number, floor: number) => (x: number) => peak - (peak - floor) * x + 6e6 * Math.sin(x * 40);
  const synthetic: SyntheticDrive[] = drives.map((d, i) => ({
    id: d.driveId,
    label: `${d.driveId} ${d.path}`,
    rate: hdd(i === 0 ? 190e6 : 175e6, i === 0 ? 115e6 : 98e6),
  }));
  const argv = ['prepare', '--staging', '/srv/staging', ...drives.flatMap((d) => ['--drive', d.path])];
  writeRunLog(session, {
    command: 'prepare',
    argv,
    start,
    drives: synthetic,
    samples: 360,
    intervalMs: 10_000,
    exitCode: 130,
    warnings: ['2 staged entries changed after they were copied; the drives keep the version copied then'],
  });
  const resume = start + 12 * 3600_000;
  writeRunLog(session, {
    command: 'prepare',
    argv,
    start: resume,
    drives: synthetic.map((d) => ({ ...d, rate: (x: number) => d.rate(0.9 + x / 10) })),
    samples: 120,
    intervalMs: 10_000,
    exitCode: 0,
  });
  writeRunLog(session, {
    command: 'verify',
    argv: ['verify', ...drives.flatMap((d) => ['--drive', d.path]), '--session', session],
    start: resume + 3 * 3600_000,
    drives: [],
    samples: 0,
    intervalMs: 1,
    exitCode: 0,
  });
}

test('the report opens in chromium offline: every drive, the chart with a line per drive, no console error', async (ctx) => {
  if (!existsSync(CHROMIUM)) {
    ctx.skip(`${CHROMIUM} is not installed (Debian package chromium; .ci/run installs it as root)`);
    return;
  }
  const t = tempDir();
  try {
    const staging = `${t.dir}/staging`;
    writeTree(staging, {
      'photos/2024/big.raw': { size: 7 * MiB, seed: 1 },
      'docs/report final.txt': { size: 300_000, seed: 2, kind: 'text' },
      [`odd/${TRAP}`]: 'trap',
      'odd/aux': 'reserved on Windows',
      'odd/a:b?.txt': 'NTFS would not keep this name',
    });
    const drives = [`${t.dir}/d1`, `${t.dir}/d2`];
    for (const d of drives) mkdirSync(d);
    const p = await runSeedship([
      'prepare',
      '--staging',
      staging,
      '--job',
      'browser',
      ...drives.flatMap((d) => ['--drive', d]),
      '--allow-staging-volume',
      '--drive-limit',
      '6M',
      '--level',
      '1',
    ]);
    assert.equal(p.code, 0, p.stderr);
    const session = `${staging}/.seedship/browser`;
    assert.match(p.stderr, new RegExp(`report: ${session}/report\\.html`), 'prepare says where its report is');

    const data = JSON.parse(
      (await runSeedship(['report', '--session', session, '--json', '--out', `${t.dir}/first.html`])).stdout,
    ) as { report: { drives: { driveId: string; path: string; storedBytes: number }[] } };
    const ids = data.report.drives.map((d) => d.driveId);
    assert.equal(ids.length, 2);
    assert.ok(
      data.report.drives.every((d) => d.storedBytes > 0),
      'both drives hold data',
    );
    addRunLogs(session, data.report.drives);
    const r = await runSeedship(['report', '--session', session]);
    assert.equal(r.code, 0, r.stderr);
    const file = `${session}/report.html`;
    assert.ok(!readFileSync(file, 'utf8').includes(TRAP), 'the trap name is escaped in the file');

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      const network: string[] = [];
      page.on('console', (m) => problems.push(`console ${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('request', (q) => {
        if (!q.url().startsWith('file:')) network.push(q.url());
      });
      await page.route('**/*', (route) =>
        route.request().url().startsWith('file:') ? route.continue() : route.abort(),
      );
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      for (const id of ids) {
        const row = page.locator(`#drive-${id}`);
        assert.equal(await row.count(), 1, `drive ${id} has its row`);
        assert.ok(await row.isVisible());
        // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not a DOM node
        assert.match((await row.innerText()).replace(/\s+/g, ' '), /sealed .*ok .*passed/);
      }
      const chart = page.locator('svg#throughput-chart');
      assert.ok(await chart.isVisible(), 'the chart is shown');
      const paths = chart.locator('path.series');
      assert.equal(await paths.count(), ids.length, 'one line per drive');
      for (let i = 0; i < ids.length; i++) {
        const path = paths.nth(i);
        assert.equal(await path.getAttribute('data-drive'), ids[i]);
        const box = await path.boundingBox();
        assert.ok(
          box && box.width > 400 && box.height > 10,
          `drive ${ids[i]}'s line is drawn across the chart: ${JSON.stringify(box)}`,
        );
        // The prepare run's own samples and the two runs added: the line breaks between runs.
        assert.ok((((await path.getAttribute('d')) ?? '').match(/M/g)?.length ?? 0) >= 3);
      }
      assert.ok((await page.locator(`text=odd/${TRAP}`).count()) >= 1, 'the trap name is shown as text');
      assert.equal(await page.locator('img').count(), 0);
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (the rendered text), not a DOM node
      assert.match(await page.locator('#warnings').innerText(), /Warnings \(1\)/);

      const shot = `${t.dir}/report.png`;
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);
      const keep = process.env.SEEDSHIP_REPORT_SCREENSHOT;
      if (keep) await page.screenshot({ path: resolve(keep), fullPage: true });
      assert.deepEqual(problems, [], 'no console message, page error or dialog');
      assert.deepEqual(network, [], 'no request left the file');
    } finally {
      await browser.close();
    }
  } finally {
    t.cleanup();
  }
});
