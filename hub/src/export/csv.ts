// CSV as RFC 4180 writes it (comma-separated, CRLF line ends, a field quoted when
// it holds a comma, a quote, CR or LF, quotes doubled), with one deliberate change
// for spreadsheet users: a text field that begins with = + - @ TAB or CR is read as
// a formula by Excel, LibreOffice and Google Sheets ("CSV injection", OWASP), and
// device names, event data and metric text come from devices and operators. Such a
// field gets a leading apostrophe, which spreadsheets show as text and hide.
// Numbers the hub formats itself are never changed (a negative reading stays a
// number); NDJSON exports carry every value untouched. README.md § Data export and
// retention, SECURITY.md.

/** Characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One field: numbers, booleans and null as themselves, text guarded and quoted as needed. */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const text = FORMULA_START.test(v) ? `'${v}` : v;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record, with its CRLF. */
export function csvRow(fields: readonly (string | number | boolean | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
