// Just enough X.509 to run a test cluster: a CA and certificates it signs, ECDSA P-256 keys.
// node:crypto makes and signs keys but cannot issue certificates, so the DER is written here
// rather than depending on an `openssl` binary being installed.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...items: Buffer[]) => der(0x30, ...items);
const set = (...items: Buffer[]) => der(0x31, ...items);
const octetString = (value: Buffer) => der(0x04, value);
const utf8String = (value: string) => der(0x0c, Buffer.from(value, 'utf8'));
const explicit = (n: number, value: Buffer) => der(0xa0 + n, value);
const TRUE = der(0x01, Buffer.from([0xff]));

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps the sign bit clear). */
function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128))
      chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** BIT STRING of named bits (bit 0 = most significant bit of the first byte), DER-minimal. */
function namedBits(bits: number[]): Buffer {
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return der(0x03, Buffer.from([7 - (top & 7)]), bytes);
}

function time(date: Date): Buffer {
  const iso = date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  // UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
  return date.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(iso.slice(2)))
    : der(0x18, Buffer.from(iso));
}

export interface DistinguishedName {
  commonName: string;
  organizations?: string[];
}

function name(dn: DistinguishedName): Buffer {
  const attribute = (type: string, value: string) => set(sequence(oid(type), utf8String(value)));
  return sequence(
    ...(dn.organizations ?? []).map((o) => attribute('2.5.4.10', o)),
    attribute('2.5.4.3', dn.commonName),
  );
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

function subjectAltNames(names: string[]): Buffer {
  return sequence(
    ...names.map((n) => {
      const ip = isIP(n);
      if (ip === 4) return der(0x87, Buffer.from(n.split('.').map(Number)));
      if (ip === 6) throw new Error(`IPv6 subject alt names are not supported: ${n}`);
      return der(0x82, Buffer.from(n, 'ascii'));
    }),
  );
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };
const EXT_KEY_USAGE = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

export interface CertificateRequest {
  subject: DistinguishedName;
  /** The key the certificate certifies. */
  publicKey: KeyObject;
  isCa?: boolean;
  /** serverAuth and/or clientAuth; a CA gets none. */
  usages?: (keyof typeof EXT_KEY_USAGE)[];
  /** DNS names and IPv4 addresses the server answers to. */
  altNames?: string[];
  validDays?: number;
}

export interface Issuer {
  subject: DistinguishedName;
  privateKey: KeyObject;
}

/** A DER certificate for `request`, signed by `issuer` (itself, for a self-signed CA). */
export function issueCertificate(request: CertificateRequest, issuer: Issuer): Buffer {
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60 * 1000); // tolerate clock skew
  const notAfter = new Date(now + (request.validDays ?? 365) * 24 * 60 * 60 * 1000);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const spki = request.publicKey.export({ type: 'spki', format: 'der' });
  const extensions = [
    extension('2.5.29.19', true, request.isCa ? sequence(TRUE) : sequence()),
    extension(
      '2.5.29.15',
      true,
      namedBits(
        request.isCa
          ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]
          : [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment],
      ),
    ),
  ];
  if (request.usages?.length) {
    extensions.push(
      extension('2.5.29.37', false, sequence(...request.usages.map((u) => oid(EXT_KEY_USAGE[u])))),
    );
  }
  if (request.altNames?.length) {
    extensions.push(extension('2.5.29.17', false, subjectAltNames(request.altNames)));
  }
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_WITH_SHA256,
    name(issuer.subject),
    sequence(time(notBefore), time(notAfter)),
    name(request.subject),
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, issuer.privateKey); // DER-encoded ECDSA signature
  return sequence(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), signature));
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function newKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export function certificatePem(derBytes: Buffer): string {
  const base64 = derBytes
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

/** SEC1 "EC PRIVATE KEY" PEM: what kube-apiserver and client-go read most widely. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'sec1', format: 'pem' }).toString();
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}
