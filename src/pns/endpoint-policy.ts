/**
 * Which push endpoints Herald connects to when a caller names them. A Web Push subscription's endpoint and a
 * WNS channel URI come from a device, that is from anyone with a Listen key: without a rule, Herald would
 * POST wherever they point (loopback admin ports, a cloud metadata service, the office network). The rule:
 * https only, to a public address; the exceptions are the origins the operator lists and, in sandbox
 * mode, the emulators' own origins. It is checked when a handle is written and again at connect time,
 * on the address DNS gave (a public name may resolve to a private address).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/** Put in the error of a refused connection, so a connector can tell it from a network failure. */
export const ENDPOINT_REFUSED = 'endpoint refused by Herald';

export interface EndpointPolicy {
  /** Why Herald will not connect to this URL (scheme, host, literal address); undefined when it may. */
  problem(url: URL): string | undefined;
  /** A DNS lookup for connections to `origin` that fails with ENDPOINT_REFUSED for a non-public address. */
  lookup(origin: string): LookupFunction | undefined;
}

export interface EndpointPolicyOptions {
  /**
   * Origins (`https://host:port`) allowed whatever their scheme and address: the sandbox emulators, and
   * the operator's `pns.allowedEndpointOrigins`. A function, because the emulators start after the policy
   * is made.
   */
  allowedOrigins?: () => Iterable<string>;
  /**
   * Connect to the allowed origins and nowhere else (sandbox mode, for Web Push: a sandbox talks to its
   * emulators, so a device registered there cannot make Herald reach out to any other host).
   */
  onlyAllowedOrigins?: boolean;
  /** Resolves a host name to its addresses (default: the system resolver, dns.lookup). Tests give a fixed table. */
  resolve?: (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
}

function systemResolve(hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void): void {
  dnsLookup(hostname, { all: true }, callback);
}

/** Parses dotted IPv4 into its four bytes. */
function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv4IsPublic(address: string): boolean {
  const [a, b] = ipv4Bytes(address) as [number, number, number, number];
  if (a === 0 || a === 10 || a === 127) return false; // "this network", private (RFC 1918), loopback
  if (a === 100 && b >= 64 && b <= 127) return false; // shared address space, carrier-grade NAT (RFC 6598)
  if (a === 169 && b === 254) return false; // link-local, cloud metadata services
  if (a === 172 && b >= 16 && b <= 31) return false; // private (RFC 1918)
  if (a === 192 && b === 168) return false; // private (RFC 1918)
  if (a === 192 && b === 0 && ipv4Bytes(address)[2] === 0) return false; // IETF protocol assignments (RFC 6890)
  if (a === 198 && (b === 18 || b === 19)) return false; // benchmarking (RFC 2544)
  if (a >= 224) return false; // multicast (224/4), reserved (240/4) and broadcast
  return true;
}

/** The 8 groups of an IPv6 address, with an embedded dotted IPv4 tail turned into two groups. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = ipv4Bytes(v4[1]!) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv6IsPublic(address: string): boolean {
  const g = ipv6Groups(address);
  if (g.length !== 8 || g.some((x) => Number.isNaN(x))) return false;
  if (g.slice(0, 7).every((x) => x === 0) && g[7]! <= 1) return false; // :: unspecified, ::1 loopback
  const embeddedV4 = () => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the IPv4 rule decides.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return ipv4IsPublic(embeddedV4());
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4IsPublic(embeddedV4()); // NAT64 (RFC 6052)
  if ((g[0]! & 0xfe00) === 0xfc00) return false; // unique local (fc00::/7)
  if ((g[0]! & 0xffc0) === 0xfe80) return false; // link-local (fe80::/10)
  if ((g[0]! & 0xffc0) === 0xfec0) return false; // site-local, deprecated (fec0::/10)
  if ((g[0]! & 0xff00) === 0xff00) return false; // multicast (ff00::/8)
  return true;
}

/** Whether an IP address is one Herald may connect to on a caller's word: globally routable, unicast. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return ipv4IsPublic(address);
  if (family === 6) return ipv6IsPublic(address);
  return false;
}

export function endpointPolicy(opts: EndpointPolicyOptions = {}): EndpointPolicy {
  const allowed = (origin: string): boolean => {
    for (const o of opts.allowedOrigins?.() ?? []) if (o === origin) return true;
    return false;
  };
  return {
    problem(url) {
      if (allowed(url.origin)) return undefined;
      if (opts.onlyAllowedOrigins) return `in sandbox mode Herald connects only to the emulators' origins and pns.allowedEndpointOrigins, not ${url.origin}`;
      if (url.protocol !== 'https:') return `it must be an https URL (not ${url.protocol.replace(/:$/, '')})`;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0) return isPublicAddress(host) ? undefined : `${host} is not a public address (loopback, private, link-local, multicast or reserved)`;
      const name = host.toLowerCase().replace(/\.$/, '');
      if (name === 'localhost' || name.endsWith('.localhost')) return `${host} is the local machine`; // RFC 6761 §6.3
      return undefined;
    },
    lookup(origin) {
      if (allowed(origin)) return undefined;
      if (opts.onlyAllowedOrigins) {
        return ((hostname: string, _options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family?: number) => void) => {
          const e = new Error(`${ENDPOINT_REFUSED}: ${hostname} is not an origin this hub may reach in sandbox mode`) as NodeJS.ErrnoException;
          e.code = 'EHERALDREFUSED';
          callback(e, '', 0);
        }) as LookupFunction;
      }
      return ((hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
        (opts.resolve ?? systemResolve)(hostname, (err, all) => {
          if (err) return callback(err, '', 0);
          // The family the socket asked for (4 or 6), when it asked for one.
          const addresses = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all;
          if (addresses.length === 0) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          const refused = addresses.find((a) => !isPublicAddress(a.address));
          if (refused) {
            const e = new Error(`${ENDPOINT_REFUSED}: ${hostname} resolves to ${refused.address}, which is not a public address`) as NodeJS.ErrnoException;
            e.code = 'EHERALDREFUSED';
            return callback(e, '', 0);
          }
          if (options.all) return callback(null, addresses);
          const first = addresses[0]!;
          callback(null, first.address, first.family);
        });
      }) as LookupFunction;
    },
  };
}
