import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvField, csvRow } from './csv.js';

describe('csv', () => {
  it('quotes as RFC 4180 asks', () => {
    assert.equal(csvRow(['a', 'b,c', 'say "hi"', 'two\nlines', 'cr\r']), 'a,"b,c","say ""hi""","two\nlines","cr\r"\r\n');
    assert.equal(csvRow([1.5, -2, null, undefined, true, Number.NaN]), '1.5,-2,,,true,\r\n');
  });

  it('keeps spreadsheets from reading text as a formula', () => {
    assert.equal(csvField('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvField('+1'), "'+1");
    assert.equal(csvField('-1'), "'-1");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('\tx'), "'\tx");
    assert.equal(csvField('a=b'), 'a=b');
    assert.equal(csvField(-1), '-1');
  });
});

describe('iso', () => {
  it('writes what Date#toISOString writes', async () => {
    const { iso } = await import('./telemetry.js');
    for (const t of [0, 1, 59_999, 60_000, 1_700_000_000_123, 1_700_000_059_009, 253_402_300_799_999, 86_400_000 * 366 + 7]) {
      assert.equal(iso(t), new Date(t).toISOString());
    }
  });
});
