/**
 * `npm run bench -- fuzz`: a bounded fuzz run against one Herald process (loopback only) that watches
 * what grows. It throws mutated Azure-surface requests at the server (random hub names, SAS key names,
 * signatures, tags, tag expressions, registration and installation ids, template bodies, content types
 * and headers) and samples the server's RSS and heap every FUZZ_SAMPLE requests. Every cache in the
 * process must be bounded, so after the first few thousand requests the heap must stop growing.
 *
 * FUZZ_REQUESTS (default 20,000), FUZZ_CONCURRENCY (default 8), FUZZ_SEED (default 1),
 * FUZZ_SANDBOX=0 to run without the in-process emulators, FUZZ_SNAPSHOT=1 to write heap snapshots after
 * the first and the last window (named in the output; load them in Chrome DevTools to compare).
 * Never run as a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSasToken, signSas } from '../src/auth/sas.ts';
import { mb, startServerProcess } from './server-process.ts';
import { table } from './table.ts';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const SAMPLE_EVERY = Number(process.env.FUZZ_SAMPLE ?? Math.max(500, Math.floor(REQUESTS / 10)));

/** mulberry32: a seeded generator, so a run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** Builds mutated Azure-surface requests for one hub and its keys. */
export class Mutator {
  private readonly rnd: () => number;
  constructor(
    seed: number,
    private readonly hub: string,
    private readonly keys: { full: string; listen: string },
    private readonly origin: string,
    /** Where channels and endpoints point: the sandbox emulators, so that no push leaves the machine. */
    private readonly emulators: { wns: string; browser: string },
  ) {
    this.rnd = prng(seed);
  }

  int = (n: number) => Math.floor(this.rnd() * n);
  pick = <T>(xs: readonly T[]): T => xs[this.int(xs.length)]!;
  chance = (p: number) => this.rnd() < p;
  word(max = 12, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = '';
    for (let i = 1 + this.int(max); i > 0; i--) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  hex(n: number) {
    return this.word(n, '0123456789abcdef').padEnd(n, '0').slice(0, n);
  }
  /** Printable junk, with the odd control character and non-ASCII letter. */
  junk(max: number): string {
    let s = '';
    for (let i = this.int(max); i > 0; i--) s += this.chance(0.02) ? String.fromCharCode(this.int(32)) : this.chance(0.05) ? String.fromCharCode(0xa0 + this.int(0x500)) : String.fromCharCode(32 + this.int(95));
    return s;
  }

  tag(): string {
    if (this.chance(0.6)) return `t${this.int(50)}`;
    return this.pick([
      () => this.word(),
      () => `UserId:${this.word()}`,
      () => `$InstallationId:{${this.word()}}`,
      () => `${this.word(4)}_${this.word(20, 'abc@#.:-_0123456789')}`,
      () => this.junk(20),
      () => 'x'.repeat(100 + this.int(200)),
    ])();
  }
  tagExpression(): string {
    const ops = ['&&', '||'];
    let e = this.tag();
    for (let i = this.int(8); i > 0; i--) e = `${this.chance(0.3) ? '!' : ''}${e} ${this.pick(ops)} ${this.chance(0.2) ? `(${this.tag()})` : this.tag()}`;
    return this.chance(0.1) ? `${e}${' '.repeat(this.int(500))})` : e;
  }
  templateBody(): string {
    const size = this.pick([10, 100, 1000, 8000, 30_000]);
    const filler = this.word(Math.max(1, size), 'abcdefghij klmnop');
    return this.pick([
      () => JSON.stringify({ aps: { alert: `$(message) ${filler}`, badge: '#(badge)' } }),
      () => `<toast><visual><binding template="ToastText01"><text id="1">$(m)${filler}</text></binding></visual></toast>`,
      () => JSON.stringify({ message: { notification: { title: `{$(a) + '${filler}'}` } } }),
      () => this.junk(size),
    ])();
  }
  installation(id: string): string {
    const platform = this.pick(['apns', 'fcmv1', 'wns', 'browser', 'gcm', 'bogus']);
    const channel =
      platform === 'apns' ? this.hex(64) : platform === 'wns' ? `${this.emulators.wns}/${this.word()}/?token=${this.word(40)}` : platform === 'browser' ? undefined : this.word(150);
    const templates: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--) templates[this.word(10)] = { body: this.templateBody(), tags: [this.tag()], ...(this.chance(0.3) ? { headers: { [`X-${this.word(8)}`]: this.word(20) } } : {}) };
    const inst = {
      installationId: id,
      platform,
      ...(channel !== undefined ? { pushChannel: channel } : { pushChannel: { endpoint: `${this.emulators.browser}/push/${this.word(30)}`, p256dh: this.word(87), auth: this.word(22) } }),
      tags: Array.from({ length: this.int(10) }, () => this.tag()),
      ...(this.chance(0.5) ? { userId: this.word() } : {}),
      ...(this.chance(0.5) ? { templates } : {}),
    };
    const text = JSON.stringify(inst);
    return this.chance(0.15) ? this.mutateText(text) : text;
  }
  registrationXml(): string {
    const kind = this.pick(['Apple', 'Gcm', 'FcmV1', 'Windows', 'Browser', 'Bogus']);
    const template = this.chance(0.4);
    const element = `${kind}${template ? 'Template' : ''}RegistrationDescription`;
    const body = `<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml"><${element} xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"><Tags>${Array.from({ length: this.int(6) }, () => this.tag()).join(',')}</Tags><DeviceToken>${this.hex(64)}</DeviceToken><GcmRegistrationId>${this.word(100)}</GcmRegistrationId><FcmV1RegistrationId>${this.word(100)}</FcmV1RegistrationId><ChannelUri>${this.emulators.wns}/${this.word()}</ChannelUri>${template ? `<BodyTemplate><![CDATA[${this.templateBody()}]]></BodyTemplate>` : ''}</${element}></content></entry>`;
    return this.chance(0.2) ? this.mutateText(body) : body;
  }
  mutateText(text: string): string {
    return this.pick([
      () => text.slice(0, this.int(text.length)),
      () => {
        const at = this.int(text.length);
        return text.slice(0, at) + this.junk(20) + text.slice(at);
      },
      () => text.replace(/[<{"]/g, (c) => (this.chance(0.05) ? this.junk(3) : c)),
      () => `<!DOCTYPE x [<!ENTITY a "${'a'.repeat(1000)}">]>${text}`,
      () => text.repeat(1 + this.int(3)),
    ])();
  }

  /** A token for this hub, or something like one. */
  authorization(right: 'full' | 'listen'): string | undefined {
    const se = Math.floor(Date.now() / 1000) + 3600;
    const audience = `${this.origin}/${this.hub}`;
    // Most requests carry a good token, so that they get past authentication into the operations.
    if (this.chance(0.6)) return createSasToken(audience, right === 'full' ? 'DefaultFullSharedAccessSignature' : 'DefaultListenSharedAccessSignature', right === 'full' ? this.keys.full : this.keys.listen, se);
    return this.pick([
      // A fresh token per request (a client that signs every call, with a new expiry each second).
      () => createSasToken(audience, 'DefaultFullSharedAccessSignature', this.keys.full, se + this.int(100_000)),
      () => createSasToken(`${audience}/${this.word()}`, 'DefaultListenSharedAccessSignature', this.keys.listen, se + this.int(100_000)),
      () => createSasToken(audience, this.word(30), this.word(44), se), // unknown key name
      () => `SharedAccessSignature sr=${encodeURIComponent(audience)}&sig=${encodeURIComponent(signSas('x', 'y', 'z'))}&se=${se}&skn=DefaultFullSharedAccessSignature`,
      () => createSasToken(audience, 'DefaultFullSharedAccessSignature', this.keys.full, 1000), // expired
      () => `SharedAccessSignature ${this.junk(200)}`,
      () => `SharedAccessSignature sr=${'a'.repeat(3000)}&sig=${this.word(44)}&se=${se}&skn=${this.word(3000)}`,
      () => this.junk(100),
      () => undefined,
    ])();
  }

  randomHeaders(): Record<string, string> {
    const h: Record<string, string> = {};
    for (let i = this.int(4); i > 0; i--) h[`x-${this.word(20, 'abcdefghijklmnopqrstuvwxyz-')}`] = this.junk(200).replace(/[^\x20-\x7e]/g, '');
    if (this.chance(0.03)) h['x-huge'] = 'h'.repeat(8000 + this.int(20_000));
    return h;
  }
  contentType(expected: string): string | undefined {
    return this.pick([expected, expected, expected, '', undefined, `${this.word(8)}/${this.word(8)}`, `${expected}; charset=${this.word(6)}`, 'multipart/mixed; boundary=x', 'application/xml', 'text/plain'] as const);
  }

  /** One request: a mix of what clients send, with something wrong in most of them. */
  next(): FuzzRequest {
    const hub = this.chance(0.1) ? this.pick([() => this.word(40, 'abcdefghijklmnopqrstuvwxyz0123456789-._'), () => `h${this.word(200)}`, () => this.junk(30)])() : this.hub;
    const q = `?api-version=${this.pick(['2020-06', '2015-01', this.word(5)])}`;
    const kind = this.int(11);
    const headers: Record<string, string> = { ...this.randomHeaders() };
    const auth = this.authorization(kind === 3 || kind === 4 || kind === 7 ? 'full' : 'listen');
    if (auth !== undefined) headers.authorization = auth;
    const withType = (t: string) => {
      const ct = this.contentType(t);
      if (ct !== undefined) headers['content-type'] = ct;
    };
    const id = this.pick([() => this.word(40), () => this.word(120), () => this.junk(20), () => `${this.word(8)}-${this.hex(4)}-${this.hex(4)}`])();
    const enc = (s: string) => encodeURIComponent(s);
    switch (kind) {
      case 0:
      case 1: {
        withType('application/json');
        const iid = this.word(30);
        return { method: 'PUT', path: `/${enc(hub)}/installations/${enc(iid)}${q}`, headers, body: this.installation(iid) };
      }
      case 2:
        withType('application/atom+xml;type=entry;charset=utf-8');
        return this.chance(0.5)
          ? { method: 'POST', path: `/${enc(hub)}/registrations/${q}`, headers, body: this.registrationXml() }
          : { method: 'PUT', path: `/${enc(hub)}/registrations/${enc(id)}${q}`, headers: { ...headers, ...(this.chance(0.3) ? { 'if-match': this.pick(['*', this.word(5)]) } : {}) }, body: this.registrationXml() };
      case 3: {
        withType(this.pick(['application/json;charset=utf-8', 'application/xml']));
        headers['servicebusnotification-format'] = this.pick(['apple', 'gcm', 'fcmv1', 'windows', 'template', 'template', 'template', 'browser', this.word(8)]);
        if (this.chance(0.7)) headers['servicebusnotification-tags'] = this.chance(0.5) ? this.tag() : this.tagExpression();
        if (this.chance(0.3)) headers['x-wns-type'] = this.pick(['wns/toast', 'wns/raw', this.word(10)]);
        if (this.chance(0.3)) headers['apns-priority'] = this.pick(['10', '5', this.word(3)]);
        const body = this.pick([() => JSON.stringify({ aps: { alert: this.word(50) } }), () => JSON.stringify({ message: this.word(100), badge: String(this.int(9)) }), () => this.junk(500), () => this.templateBody()])();
        return { method: 'POST', path: `/${enc(hub)}/messages/${q}`, headers, body };
      }
      case 4: {
        const filter = this.pick([`ChannelUri eq '${this.word(30)}'`, `DeviceToken eq '${this.hex(64)}'`, `${' '.repeat(this.int(2000))}eq${' '.repeat(this.int(2000))}`, this.junk(100), `GcmRegistrationId eq '${this.word(150)}'`]);
        const listing = this.pick([
          `/${enc(hub)}/registrations/${q}&$top=${this.pick(['1', '100', this.word(3), '-5', '999999'])}`,
          `/${enc(hub)}/registrations/${q}&$filter=${enc(filter)}`,
          `/${enc(hub)}/registrations/${q}&continuationtoken=${enc(this.junk(80))}`,
          `/${enc(hub)}/tags/${enc(this.tag())}/registrations${q}`,
        ]);
        return { method: 'GET', path: listing, headers };
      }
      case 5:
        return { method: this.pick(['GET', 'DELETE']), path: `/${enc(hub)}/${this.pick(['installations', 'registrations', 'messages', 'jobs', 'schedulednotifications'])}/${enc(id)}${q}`, headers: { ...headers, ...(this.chance(0.3) ? { 'if-match': this.word(8) } : {}) } };
      case 6: {
        withType('application/json-patch+json');
        const ops = JSON.stringify(Array.from({ length: 1 + this.int(4) }, () => ({ op: this.pick(['add', 'remove', 'replace', 'move']), path: this.pick(['/tags', `/tags/${this.tag()}`, '/pushChannel', `/templates/${this.word()}`, '/userId']), value: this.pick([this.tag(), this.word(), [this.tag()]]) })));
        return { method: 'PATCH', path: `/${enc(hub)}/installations/${enc(this.word(30))}${q}`, headers, body: this.chance(0.2) ? this.mutateText(ops) : ops };
      }
      case 7: {
        withType('multipart/mixed; boundary="simple-boundary"');
        const body = `--simple-boundary\r\nContent-Type: application/json\r\nContent-Disposition: inline; name=notification\r\n\r\n{"aps":{"alert":"x"}}\r\n--simple-boundary\r\nContent-Type: application/json\r\nContent-Disposition: inline; name=devices\r\n\r\n${JSON.stringify(Array.from({ length: this.int(20) }, () => this.hex(64)))}\r\n--simple-boundary--`;
        headers['servicebusnotification-format'] = 'apple';
        return { method: 'POST', path: `/${enc(hub)}/messages/$batch${q}&direct`, headers, body: this.chance(0.3) ? this.mutateText(body) : body };
      }
      case 8: {
        // Paths nobody routes: extra segments, odd methods, percent junk.
        const segs = Array.from({ length: 1 + this.int(6) }, () => this.pick([() => this.word(), () => enc(this.junk(10)), () => '%zz', () => '..', () => '']) ());
        return { method: this.pick(['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']), path: `/${enc(hub)}/${segs.join('/')}${this.chance(0.5) ? q : `?${this.word(10)}=${this.word(20)}`}`, headers };
      }
      case 9:
        // Bodies over the limit (64 KiB by default): bounded in size and few.
        withType('application/json');
        return { method: 'PUT', path: `/${enc(hub)}/installations/${enc(this.word(20))}${q}`, headers, body: Buffer.alloc(this.chance(0.9) ? 70 * 1024 : 2 * 1024 * 1024, 0x61) };
      default:
        withType('application/xml');
        return { method: 'POST', path: `/${enc(hub)}/jobs${q}`, headers, body: this.chance(0.5) ? this.mutateText('<entry><content><NotificationHubJob><Type>ImportCreateRegistrations</Type><ImportFileUri>file:///etc/passwd</ImportFileUri></NotificationHubJob></content></entry>') : this.junk(300) };
    }
  }

  /** The request with its header values cut down to what HTTP/1.1 can carry (Latin-1, no controls but tab). */
  nextSendable(): FuzzRequest {
    const r = this.next();
    for (const [k, v] of Object.entries(r.headers)) r.headers[k] = v.replace(/[^\t\x20-\x7e\xa0-\xff]/g, '?').trim();
    return r;
  }
}

/** Sends one request; never throws (a refused connection or a reset counts as status 0). */
export async function sendRequest(base: string, r: FuzzRequest): Promise<number> {
  try {
    const res = await fetch(`${base}${r.path}`, { method: r.method, headers: r.headers, ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { body: r.body } : {}) });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const why = cause?.code ?? (err as Error).name;
    resets.set(why, (resets.get(why) ?? 0) + 1);
    return 0;
  }
}

/** Why requests got no answer (status 0), by error code. */
export const resets = new Map<string, number>();

export const keyOf = (cs: string) => /SharedAccessKey=([^;]+)/.exec(cs)![1]!;

export async function fuzzBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-fuzz-'));
  const sandbox = process.env.FUZZ_SANDBOX !== '0';
  const server = await startServerProcess(join(dir, 'data'), { sandbox, logLevel: process.env.HERALD_LOG_LEVEL ?? 'info', ...(process.env.FUZZ_LOG ? { logFile: process.env.FUZZ_LOG } : {}) });
  try {
    if (!server.connectionStrings) throw new Error('the fuzz run needs the sandbox hub (FUZZ_SANDBOX=0 is not supported yet)');
    const m = new Mutator(Number(process.env.FUZZ_SEED ?? 1), 'sandbox', { full: keyOf(server.connectionStrings.full), listen: keyOf(server.connectionStrings.listen) }, server.httpUrl, { wns: server.emulators!.wns!, browser: server.emulators!.browser! });
    const rows: string[][] = [];
    const byStatus = new Map<number, number>();
    const first = await server.sample();
    rows.push(['0', mb(first.rss), mb(first.heapTotal), mb(first.heapUsed), mb(first.external), mb(first.mallocedMemory), '', '']);
    let sent = 0;
    let window5xx = 0;
    const slowest: Array<{ ms: number; status: number; what: string }> = [];
    const t0 = performance.now();
    for (let w = 0; sent < REQUESTS; w++) {
      const until = Math.min(REQUESTS, sent + SAMPLE_EVERY);
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (sent < until) {
            sent++;
            const r = m.nextSendable();
            const t = performance.now();
            const status = await sendRequest(server.httpUrl, r);
            const ms = performance.now() - t;
            if (ms > 500) slowest.push({ ms, status, what: `${r.method} ${r.path.slice(0, 160)} ${JSON.stringify(Object.fromEntries(Object.entries(r.headers).filter(([k]) => k.startsWith('servicebus')))).slice(0, 300)} body ${r.body?.length ?? 0}` });
            byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
            if (status >= 500 || status === 0) window5xx++;
          }
        }),
      );
      const s = await server.sample();
      rows.push([String(sent), mb(s.rss), mb(s.heapTotal), mb(s.heapUsed), mb(s.external), mb(s.mallocedMemory), s.eldP99.toFixed(1), String(window5xx)]);
      window5xx = 0;
      if (process.env.FUZZ_SNAPSHOT === '1' && (w === 0 || sent >= REQUESTS)) console.log(`heap snapshot: ${await server.snapshot(join(dir, `fuzz-${sent}.heapsnapshot`))}`);
    }
    console.log(`\nFuzz: ${REQUESTS} mutated Azure-surface requests, ${CONCURRENCY} at a time, ${((performance.now() - t0) / 1000).toFixed(0)} s; server${sandbox ? ' in sandbox mode' : ''} in its own process`);
    console.log(table(['requests', 'RSS MiB', 'heap total MiB', 'heap used MiB', 'external MiB', 'malloced MiB', 'ELD p99 ms', '5xx or reset'], rows));
    console.log(`answers by status: ${[...byStatus].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    for (const x of slowest.sort((a, b) => b.ms - a.ms).slice(0, 15)) console.log(`slow: ${x.ms.toFixed(0)} ms ${x.status} ${x.what}`);
    if (resets.size > 0) console.log(`no answer (status 0), by cause: ${[...resets].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  } finally {
    await server.stop();
    if (process.env.FUZZ_SNAPSHOT !== '1') rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir} (heap snapshots)`);
  }
}
