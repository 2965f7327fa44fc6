// localDns(): an in-memory resolver for tests and local development, in the
// shape `createChannel({ dns })` takes (that of node:dns/promises): publish a
// setup's records into it, as a customer would at their DNS provider, and
// `setups.verifyWithDns` sees them. Not for production: there the default
// resolver (node:dns) or one of your own asks the real DNS.

/** A DNS name as a key: lower-case, without a final dot. */
const key = (name) => String(name).toLowerCase().replace(/\.$/, '');

/** A TXT value as DNS carries it: character-strings of at most 255 bytes (split at character boundaries). */
function characterStrings(value) {
  const out = [];
  let current = '';
  let size = 0;
  const encoder = new TextEncoder();
  for (const ch of value) {
    const n = encoder.encode(ch).length;
    if (size + n > 255) {
      out.push(current);
      current = '';
      size = 0;
    }
    current += ch;
    size += n;
  }
  out.push(current);
  return out;
}

function notFound(code, name, type) {
  return Object.assign(new Error(`${code}: no ${type} for ${name} in localDns`), { code });
}

/**
 * An in-memory resolver. See index.d.ts `LocalDns`.
 * @returns {import('./index.js').LocalDns}
 */
export function localDns() {
  /** name → { txt: string[][], mx: { priority, exchange }[] } */
  const zone = new Map();
  const entry = (name) => {
    let e = zone.get(key(name));
    if (e === undefined) zone.set(key(name), (e = { txt: [], mx: [] }));
    return e;
  };
  const answer = (name, type) => {
    const e = zone.get(key(name));
    if (e === undefined) throw notFound('ENOTFOUND', name, type.toUpperCase());
    if (e[type].length === 0) throw notFound('ENODATA', name, type.toUpperCase());
    return e[type].map((r) => (Array.isArray(r) ? [...r] : { ...r }));
  };
  const dns = {
    addTxt(name, value) {
      entry(name).txt.push(characterStrings(String(value)));
      return dns;
    },
    addMx(name, priority, exchange) {
      entry(name).mx.push({ priority, exchange: key(exchange) });
      return dns;
    },
    publish(records) {
      for (const r of records) {
        if (r.type === 'mx') {
          const [priority, exchange] = r.value.trim().split(/\s+/);
          dns.addMx(r.name, Number(priority), exchange);
        } else {
          dns.addTxt(r.name, r.value);
        }
      }
      return dns;
    },
    remove(name) {
      zone.delete(key(name));
      return dns;
    },
    async resolveTxt(name) {
      return answer(name, 'txt');
    },
    async resolveMx(name) {
      return answer(name, 'mx');
    },
  };
  return dns;
}
