/**
 * The README's quick-start screenshots: each image it shows is a committed PNG that the console's browser test
 * takes (so `npm run screenshots` can retake it), at the test's 1280x800 viewport.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** A PNG's width and height from its IHDR chunk, or undefined if the bytes are no PNG. */
function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(signature)) return undefined;
  if (bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('README screenshots', () => {
  test('every screenshot the README shows is committed, taken by the browser test, at 1280x800', () => {
    // Prepare
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const browserTest = readFileSync(join(ROOT, 'tests', 'e2e', 'console-browser.test.ts'), 'utf8');
    // Act
    const images = [...readme.matchAll(/!\[[^\]]+\]\((docs\/screenshots\/([a-z-]+)\.png)\)/g)];
    // Assess
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const [, path = '', name = ''] of images) {
      expect(existsSync(join(ROOT, path))).toBe(true);
      expect(pngSize(readFileSync(join(ROOT, path)))).toEqual({ width: 1280, height: 800 });
      expect(browserTest).toContain(`screenshot(page, '${name}')`);
    }
  });
});
