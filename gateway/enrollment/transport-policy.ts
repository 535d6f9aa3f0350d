/**
 * Which links may run without TLS (docs/security.md, "TLS on each link"; issue 12 finding 9): only
 * loopback. Enrollment carries a bearer token out and a secret back, and the uplink carries that
 * secret in CONNECT (MQTT 3.1.1 section 3.1.3.5, in clear text) and every command back: over a
 * network they need TLS, unless the installer says otherwise explicitly (`--insecure-http`, the
 * gateway setting `uplink.allowInsecureMqtt`).
 */
import { isIP } from 'node:net';
import { GatewayEnrollmentError } from './errors.js';

/**
 * True for `localhost` (RFC 6761 section 6.3), 127.0.0.0/8 (RFC 1122 section 3.2.1.3) and ::1
 * (RFC 4291 section 2.5.3), also as an IPv4-mapped address and in the brackets a URL puts around
 * IPv6. Any other name is not loopback, whatever it resolves to today.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) {
    if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
    // IPv4-mapped (RFC 4291 section 2.5.5.2), dotted or as WHATWG URL writes it (::ffff:7f00:1).
    if (/^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host)) return true;
    const mapped = /^::ffff:(\d+)\.\d+\.\d+\.\d+$/.exec(host);
    return mapped?.[1] === '127';
  }
  return false;
}

/**
 * Refuses plain HTTP enrollment to a host that is not loopback unless `allowInsecure`
 * (ENROLL_INSECURE). https:// always passes (the server is verified).
 */
export function requireSecureEnrollmentUrl(endpoint: URL, allowInsecure: boolean): void {
  if (endpoint.protocol !== 'http:' || allowInsecure || isLoopbackHost(endpoint.hostname)) return;
  throw new GatewayEnrollmentError(
    'ENROLL_INSECURE',
    `${endpoint.origin} is plain HTTP: the token and the returned secret would cross the network unencrypted. ` +
      'Use https:// (with --ca when the server has a private CA), or pass --insecure-http to accept that on a trusted network',
  );
}

/** The URL schemes on which mqtt.js speaks TLS (the broker is verified: rejectUnauthorized). */
const TLS_MQTT_PROTOCOLS = new Set(['mqtts:', 'wss:', 'tls:', 'ssl:']);

/**
 * Refuses an uplink without TLS (`mqtt://`, and the other plain schemes mqtt.js takes, `tcp://`,
 * `ws://`) to a host that is not loopback unless `allowInsecure` (UPLINK_INSECURE). Only the TLS
 * schemes always pass: an allow-list, so a scheme added to mqtt.js later is refused until judged.
 */
export function requireSecureMqttUrl(url: string, allowInsecure: boolean): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayEnrollmentError('UPLINK_INSECURE', 'the uplink URL is not a valid URL');
  }
  if (TLS_MQTT_PROTOCOLS.has(parsed.protocol) || allowInsecure || isLoopbackHost(parsed.hostname)) return;
  throw new GatewayEnrollmentError(
    'UPLINK_INSECURE',
    `${parsed.protocol}//${parsed.host} has no TLS: the gateway secret and every command would cross the network unencrypted. ` +
      'Enroll against an mqtts:// broker, or set "uplink": { "allowInsecureMqtt": true } to accept that on a trusted network',
  );
}
