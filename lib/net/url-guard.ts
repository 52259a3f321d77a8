// The one guard for URLs the service fetches on a caller's behalf (`audio_url` today,
// webhooks next). A caller-supplied URL is fetched from inside the cluster, so without a
// guard any caller can make the worker GET cloud metadata (169.254.169.254) or internal
// admin endpoints. Rules, each with a stable name that the refusal message carries:
//
//   scheme        only http: and https:
//   metadata      cloud metadata names and addresses: refused always
//   link-local    169.254.0.0/16, fe80::/10 (and IPv4-mapped forms): refused always
//   unspecified   0.0.0.0 and :: (they reach the local host on Linux): refused always
//   allow-list    when an allow-list is set (AUDIO_URL_ALLOWED_HOSTS), the host must be on it
//
// Names are checked before connecting, resolved addresses at connect time: guardedLookup
// is undici's `connect.lookup`, so the address that is checked is the one the socket
// connects to, and a DNS answer that changes between a check and a connect (rebinding)
// cannot slip through. Redirects are followed hop by hop by the caller (fetchGuarded in
// guarded-fetch.ts), each hop checked here.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export type UrlRule = 'scheme' | 'metadata' | 'link-local' | 'unspecified' | 'allow-list';

export class UrlRefused extends Error {
  override readonly name = 'UrlRefused';
  constructor(
    readonly rule: UrlRule,
    message: string,
  ) {
    super(message);
  }
}

export interface UrlPolicy {
  /** Lower-case host entries: `host`, `host:port`, `*.domain` or an IP literal. Undefined = any host. */
  allowedHosts?: readonly string[];
  /** The variable named in refusals (AUDIO_URL_ALLOWED_HOSTS, a webhook variable…). */
  allowListName?: string;
  /** DNS resolution, injectable for tests; default node:dns lookup. */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

/** Names that answer with cloud instance metadata (GCP, Azure, AWS, Alibaba, OpenStack…). */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

const metadataIps = new BlockList();
metadataIps.addAddress('169.254.169.254', 'ipv4'); // AWS, GCP, Azure, OpenStack, DigitalOcean
metadataIps.addAddress('169.254.170.2', 'ipv4'); // ECS task metadata
metadataIps.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud
metadataIps.addAddress('fd00:ec2::254', 'ipv6'); // AWS IMDS over IPv6

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

/** Splits a comma-separated allow-list variable into normalised entries; undefined when unset. */
export function parseAllowedHosts(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:hhhh:hhhh). */
function unmapped(ip: string): string {
  const lower = ip.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return ip;
}

/** Refuses an IP address by the always-on rules; returns nothing when it may be used. */
export function checkAddress(address: string): void {
  const ip = unmapped(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (metadataIps.check(ip, family)) {
    throw new UrlRefused('metadata', `address ${ip} is a cloud metadata endpoint`);
  }
  if (linkLocal.check(ip, family)) throw new UrlRefused('link-local', `address ${ip} is link-local`);
  if (ip === '0.0.0.0' || ip === '::' || /^0+(\.0+){3}$/.test(ip)) {
    throw new UrlRefused('unspecified', `address ${ip} is the unspecified address`);
  }
}

function onAllowList(host: string, port: string, list: readonly string[]): boolean {
  return list.some((entry) => {
    if (entry.startsWith('*.')) return host.endsWith(entry.slice(1));
    const e = entry.replace(/^\[|\]$/g, '');
    if (e === host) return true;
    // host:port entries (and [v6]:port)
    const m = /^(.*):(\d+)$/.exec(entry);
    return !!m && m[1]!.replace(/^\[|\]$/g, '') === host && m[2] === port;
  });
}

/**
 * Checks a URL's scheme, credentials and host (and a literal IP address) against the
 * policy; throws UrlRefused naming the rule. Resolved addresses are checked at connect
 * time by guardedLookup.
 */
export function checkUrl(url: string | URL, policy: UrlPolicy = {}): URL {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new UrlRefused('scheme', 'not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UrlRefused('scheme', `scheme ${u.protocol} is not http or https`);
  }
  const host = u.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (METADATA_NAMES.has(host)) throw new UrlRefused('metadata', `host ${host} is a cloud metadata endpoint`);
  if (isIP(host)) checkAddress(host);
  if (policy.allowedHosts) {
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    if (!onAllowList(host, port, policy.allowedHosts)) {
      throw new UrlRefused(
        'allow-list',
        `host ${host} is not in ${policy.allowListName ?? 'the allowed hosts'}`,
      );
    }
  }
  return u;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for net/tls connect (undici's `connect.lookup`): resolves once, refuses
 * the connection when any resolved address breaks an always-on rule, and hands the
 * checked address to the socket.
 */
export function guardedLookup(policy: UrlPolicy = {}) {
  const resolve =
    policy.resolve ??
    ((host: string) =>
      new Promise<LookupAddress[]>((ok, fail) =>
        dnsLookup(host, { all: true }, (err, addresses) => (err ? fail(err) : ok(addresses))),
      ));
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        try {
          if (addresses.length === 0)
            throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
          // Every answer is checked, not just the first: a name that mixes a public
          // address with a metadata one is refused as a whole.
          for (const a of addresses) checkAddress(a.address);
        } catch (err) {
          callback(err as NodeJS.ErrnoException, '', 0);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** The warning a worker logs at start when downloads may go to any host. */
export function allowListWarning(
  value: string | undefined,
  name = 'AUDIO_URL_ALLOWED_HOSTS',
): string | undefined {
  return parseAllowedHosts(value)
    ? undefined
    : `${name} is not set: audio_url may name any host (link-local and metadata addresses are still refused); set it to the recording stores' host names`;
}

/** Where a redirect answer points, checked like the first URL; undefined when not a redirect. */
export function redirectTarget(
  current: URL,
  status: number,
  location: string | undefined,
  policy: UrlPolicy,
): URL | undefined {
  if (![301, 302, 303, 307, 308].includes(status) || !location) return undefined;
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new UrlRefused('scheme', 'redirect to an invalid URL');
  }
  return checkUrl(next, policy);
}

/** The UrlRefused inside an error (connect errors wrap what the lookup threw). */
export function findRefusal(err: unknown): UrlRefused | undefined {
  for (let e = err, depth = 0; e && depth < 5; depth++) {
    if (e instanceof UrlRefused) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
