// A VersionedKv in memory (opaque string versions, compare-and-set), with a
// macrotask before every answer so each store call really suspends the
// component (JSPI). The test double behind kvStore in the suites.

const later = () => new Promise((resolve) => setTimeout(resolve, 0));

export function memoryKv() {
  const map = new Map();
  let clock = 0;
  const utf8 = new TextEncoder();
  const byBytes = (a, b) => {
    const [x, y] = [utf8.encode(a), utf8.encode(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  return {
    map,
    async get(key) {
      await later();
      const e = map.get(key);
      return e === undefined ? null : { value: e.value.slice(), version: e.version };
    },
    async set(key, value, ifVersion) {
      await later();
      if (ifVersion !== undefined && (map.get(key)?.version ?? null) !== ifVersion) return false;
      map.set(key, { value: value.slice(), version: `v${++clock}` });
      return true;
    },
    async delete(key, ifVersion) {
      await later();
      if (ifVersion !== undefined && (map.get(key)?.version ?? null) !== ifVersion) return false;
      map.delete(key);
      return true;
    },
    async list(prefix, after, limit) {
      await later();
      return [...map.keys()]
        .filter((k) => k.startsWith(prefix) && (after === null || byBytes(k, after) > 0))
        .sort(byBytes)
        .slice(0, limit);
    },
  };
}
