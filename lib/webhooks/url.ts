// The rules a webhook URL must pass before anything is sent, checked at create (a 400)
// and again before each delivery (the allow-list may have changed since): http(s), no
// credentials in the URL, the host on WEBHOOK_ALLOWED_HOSTS when that is set, and never
// a link-local or cloud-metadata address. Resolved addresses are checked by the worker's
// guarded fetch; this is the part that needs no DNS and runs on every runtime.

const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata',
  'metadata.azure.internal',
  'instance-data',
]);

function isLinkLocalOrMetadataIp(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (/^169\.254\.\d+\.\d+$/.test(h)) return true;
  if (/^fe[89ab][0-9a-f]?:/.test(h)) return true;
  if (h === 'fd00:ec2::254' || h === '100.100.100.200') return true;
  if (h === '0.0.0.0' || h === '::') return true;
  return false;
}

/** True when `host` matches an allow-list entry (`example.com` exactly, `*.example.com` its subdomains). */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) : h === a));
}

/** Null when the URL may be used, else the rule it breaks (never echoing the URL itself). */
export function checkWebhookUrl(raw: string, allowedHosts: readonly string[]): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'only http and https URLs are allowed';
  if (u.username || u.password) return 'credentials in the URL are not allowed';
  if (isLinkLocalOrMetadataIp(u.hostname) || METADATA_HOSTS.has(u.hostname.toLowerCase()))
    return 'link-local and cloud-metadata addresses are never allowed';
  if (allowedHosts.length > 0 && !hostAllowed(u.hostname, allowedHosts))
    return `host ${u.hostname} is not in WEBHOOK_ALLOWED_HOSTS`;
  return null;
}
