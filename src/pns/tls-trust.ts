/**
 * The TLS trust of outgoing PNS connections, built once. Handing `ca: [...rootCertificates, extra]` to
 * tls.connect or an https.Agent makes Node build a new SecureContext for every connection: it parses all
 * ~150 public roots again (about 10-100 ms of event loop) and each context holds about 1 MB of native
 * memory that the JS heap does not show. A fuzz run in sandbox mode (where every connector trusts the
 * dev CA) opened connections to many channel hosts and grew past 1 GB of RSS with a flat heap, stalling
 * the event loop for seconds. One context per extra CA (and per client certificate) is shared instead.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** Distinct extra-CA texts kept; a process has one or two (the dev CA, `pns.caFile`). */
const MAX_CONTEXTS = 8;
const contexts = new Map<string, SecureContext>();

/**
 * The public roots plus `ca`, as one shared SecureContext; undefined without an extra CA (Node's
 * default context, which it already shares, is then used).
 */
export function trustedContext(ca: string | undefined): SecureContext | undefined {
  if (ca === undefined) return undefined;
  let context = contexts.get(ca);
  if (!context) {
    context = createSecureContext({ ca: [...rootCertificates, ca] });
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    contexts.set(ca, context);
  }
  return context;
}

/** TLS connect options that trust `ca` besides the public roots, through the shared context. */
export function trustOptions(ca: string | undefined): { secureContext?: SecureContext } {
  const secureContext = trustedContext(ca);
  return secureContext ? { secureContext } : {};
}

/**
 * A context for a client certificate (APNs certificate auth) with the trust of `ca`: built once per
 * pool, by its owner, rather than once per connection.
 */
export function clientCertificateContext(ca: string | undefined, cert: string, key: string): SecureContext {
  return createSecureContext({ ...(ca !== undefined ? { ca: [...rootCertificates, ca] } : {}), cert, key });
}
