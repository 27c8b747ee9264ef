/** The `$filter` of listRegistrationsByChannel (wire spec §6.13), and its cost on hostile input (issue 10 item 20). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../shared/errors.ts';
import { MAX_FILTER_LENGTH, parseChannelFilter, type ScanMeter } from './channel-filter.ts';

function refused(filter: string): string {
  try {
    parseChannelFilter(filter);
  } catch (err) {
    assert.ok(err instanceof HubError);
    assert.equal(err.code, 'invalid_request');
    return String(err.details?.reason);
  }
  assert.fail(`'${filter.slice(0, 80)}' was accepted`);
}

test('the filters the JS and .NET clients build (§6.13)', () => {
  assert.deepEqual(parseChannelFilter("DeviceToken eq '00FC13ADFF78'"), { handles: ['00FC13ADFF78'], platforms: ['apns'], details: {} });
  const wns = parseChannelFilter("ChannelUri eq 'https%3A%2F%2Fdb5.notify.windows.com%2F%3Ftoken%3DA%2BB'");
  assert.deepEqual(wns.handles, ['https%3A%2F%2Fdb5.notify.windows.com%2F%3Ftoken%3DA%2BB', 'https://db5.notify.windows.com/?token=A+B']);
  assert.equal(wns.platforms, undefined, '.NET: ChannelUri matches any platform');
  const browser = parseChannelFilter("Endpoint eq 'https%3A%2F%2Ffcm.googleapis.com%2Ffcm%2Fsend%2Fabc' and P256DH eq 'P' and Auth eq 'A'");
  assert.deepEqual(browser.platforms, ['browser']);
  assert.deepEqual(browser.details, { p256dh: ['P'], auth: ['A'] });
  // JS's Baidu filter has no opening quote.
  assert.deepEqual(parseChannelFilter("BaiduChannelId eq ch' and BaiduUserId eq 'u'"), { handles: ['ch'], platforms: ['baidu'], details: { baiduuserid: ['u'] } });
  assert.deepEqual(parseChannelFilter("  devicetoken   EQ   'ab'  AND auth eq 'x''y'  ").handles, ['ab', 'AB']);
  assert.deepEqual(parseChannelFilter("ChannelUri eq 'it''s'").handles, ["it's"]);
});

test('filters that are not "Field eq value" are refused with 400 unsupported_filter', () => {
  for (const f of ['', ' ', "Nonsense gt '1'", "DeviceToken eq 'a' and ", "and DeviceToken eq 'a'", "DeviceTokeneq 'a'", "DeviceToken eq'a'",
    "Auth eq 'a'", "DeviceToken eq 'a' and ChannelUri eq 'b'", "Tags eq 'a'", "DeviceToken  'a'", "Device-Token eq 'a'"]) {
    assert.equal(refused(f), 'unsupported_filter', f);
  }
});

test('a filter over the size limit is refused with 400 filter_too_long, however it is made', () => {
  assert.equal(MAX_FILTER_LENGTH, 8192);
  assert.equal(refused(`DeviceToken eq '${'A'.repeat(MAX_FILTER_LENGTH)}'`), 'filter_too_long');
  assert.equal(refused(`DeviceToken eq 'A${' '.repeat(100_000)}B'`), 'filter_too_long');
  assert.equal(refused(' '.repeat(100_000)), 'filter_too_long');
  // Just under the limit is parsed.
  const longest = `DeviceToken eq '${'A'.repeat(MAX_FILTER_LENGTH - 17)}'`;
  assert.equal(longest.length, MAX_FILTER_LENGTH);
  assert.equal(parseChannelFilter(longest).handles[0]!.length, MAX_FILTER_LENGTH - 17);
});

test('hostile filters cost work linear in their length (counted steps, no backtracking)', () => {
  const n = MAX_FILTER_LENGTH - 64;
  const spaces = ' '.repeat(n);
  const hostile: Array<[string, string | undefined]> = [
    // Runs of spaces inside, before and after the literal: the old regular expression's worst case.
    [`ChannelUri eq 'x${spaces}y'`, `x${spaces}y`],
    [`ChannelUri eq ${spaces}x`, 'x'],
    [`ChannelUri eq 'x'${spaces}`, 'x'],
    [`ChannelUri eq x${spaces}`, 'x'],
    [`ChannelUri eq '${"'".repeat(n)}`, "'".repeat(Math.ceil((n - 1) / 2))],
    [`${spaces}ChannelUri eq 'x'`, 'x'],
    [`ChannelUri${spaces}eq 'x'`, 'x'],
    [`ChannelUri eq ${"'x".repeat(n / 2)}`, "'x".repeat(n / 2).slice(1)],
    [`a${spaces}`, undefined],
    [`ChannelUri eq 'x'${' and'.repeat(n / 4)}`, undefined],
    [`ChannelUri eq 'x'${' and '.repeat(n / 5)}`, undefined],
    [`${'\t'.repeat(n)}eq`, undefined],
  ];
  for (const [filter, handle] of hostile) {
    const meter: ScanMeter = { steps: 0 };
    let got: string | undefined;
    try {
      got = parseChannelFilter(filter, meter).handles[0];
    } catch (err) {
      assert.ok(err instanceof HubError && err.details?.reason === 'unsupported_filter', String(err));
    }
    if (handle !== undefined) assert.equal(got, handle, filter.slice(0, 40));
    else assert.equal(got, undefined, `${filter.slice(0, 40)}... is refused`);
    assert.ok(meter.steps <= 6 * filter.length, `${meter.steps} steps for ${filter.length} characters: ${JSON.stringify(filter.slice(0, 30))}`);
  }
});

/** The regular-expression parser this scanner replaced: the reference for short inputs, where it is fast. */
function referenceParse(filter: string): unknown {
  const clauses = [];
  for (const clause of filter.split(/ and /i)) {
    const m = /^\s*([A-Za-z0-9]+)\s+eq\s+'?(.*?)'?\s*$/i.exec(clause);
    if (!m) return 'refused';
    clauses.push([m[1]!.toLowerCase(), m[2]!.replace(/''/g, "'")]);
  }
  return clauses;
}

test('the scanner reads every short filter as the regular expression it replaced did', () => {
  const pieces = [' ', ' ', '  ', '\t', "'", "''", 'a', 'x', 'eq', 'EQ', 'and', 'AND', ' and ', 'DeviceToken', 'Auth', '%41', '\u00a0'];
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 20_000; round++) {
    const parts = [round % 2 === 0 ? 'DeviceToken' : pieces[random(pieces.length)]!, ' eq '];
    for (let k = random(8); k > 0; k--) parts.push(pieces[random(pieces.length)]!);
    const filter = parts.join('');
    const want = referenceParse(filter);
    let got: unknown;
    try {
      const f = parseChannelFilter(filter);
      got = f;
    } catch {
      got = 'refused';
    }
    if (want === 'refused') {
      assert.equal(got, 'refused', JSON.stringify(filter));
      continue;
    }
    // Accepted by the reference: the scanner agrees unless a field is unknown or repeated (checked after parsing).
    const fields = (want as Array<[string, string]>).map(([field]) => field);
    const known = fields.every((f) => ['devicetoken', 'auth'].includes(f)) && fields.filter((f) => f === 'devicetoken').length === 1;
    if (!known) {
      assert.equal(got, 'refused', JSON.stringify(filter));
      continue;
    }
    const f = got as ReturnType<typeof parseChannelFilter>;
    for (const [field, literal] of want as Array<[string, string]>) {
      const values = field === 'devicetoken' ? f.handles : f.details.auth!;
      assert.ok(values.includes(literal), `${JSON.stringify(filter)}: ${field} '${literal}' in ${JSON.stringify(values)}`);
    }
  }
});
