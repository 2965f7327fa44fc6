// Internal: a small WIT reader, enough to know the types of the component's
// exports (records, variants, enums, aliases, `use`, functions) for the
// scenario runner. It reads the subset of WIT this package's world uses and
// fails loudly, naming the construct, on anything else (resources, flags,
// worlds' contents are skipped, not read).
//
// Types:  { kind: 'prim', name }            bool, u8..u64, s8..s64, f32, f64, char, string
//         { kind: 'list', of } | { kind: 'option', of } | { kind: 'tuple', of: [...] }
//         { kind: 'result', ok: type | null, err: type | null }
//         { kind: 'ref', name, iface }      a named type of an interface
// Named:  { kind: 'record', fields: [{ name, type }] }
//         { kind: 'variant', cases: [{ name, type | null }] }
//         { kind: 'enum', cases: [name] }
//         { kind: 'alias', type }

const PRIMITIVES = new Set([
  'bool', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'f32', 'f64', 'char', 'string',
]);

const TOKEN = /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|(->|[{}()<>,:;=@.\/*_])|(%?[A-Za-z][A-Za-z0-9-]*|[0-9][0-9A-Za-z+-]*(?:\.[0-9A-Za-z+-]+)*)/y;

function tokenize(text, file) {
  const tokens = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) throw new SyntaxError(`${file}: cannot read WIT at offset ${at}: ${JSON.stringify(text.slice(at, at + 20))}`);
    if (m[1] !== undefined) tokens.push(m[1]);
    else if (m[2] !== undefined) tokens.push(m[2].startsWith('%') ? { id: m[2].slice(1) } : m[2]);
  }
  return tokens;
}

/** An identifier token's name (a `%`-escaped one without its `%`). */
const ident = (t) => (typeof t === 'object' ? t.id : t);

class Reader {
  constructor(tokens, file) {
    this.tokens = tokens;
    this.i = 0;
    this.file = file;
  }
  peek() {
    return this.tokens[this.i];
  }
  next() {
    if (this.i >= this.tokens.length) throw new SyntaxError(`${this.file}: unexpected end of WIT`);
    return this.tokens[this.i++];
  }
  eat(t) {
    if (this.peek() === t) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(t) {
    const got = this.next();
    if (got !== t) throw new SyntaxError(`${this.file}: expected ${t}, found ${JSON.stringify(ident(got))}`);
  }
  name() {
    const t = this.next();
    const n = ident(t);
    if (typeof n !== 'string' || !/^[A-Za-z]/.test(n)) throw new SyntaxError(`${this.file}: expected a name, found ${JSON.stringify(n)}`);
    return n;
  }
  /** Skips a balanced `{ ... }`. */
  skipBlock() {
    this.expect('{');
    for (let depth = 1; depth > 0; ) {
      const t = this.next();
      if (t === '{') depth++;
      else if (t === '}') depth--;
    }
  }
  /** `a, b, c,` up to `close`, each read by `item`. */
  commaList(close, item) {
    const out = [];
    while (!this.eat(close)) {
      out.push(item());
      if (!this.eat(',')) {
        this.expect(close);
        break;
      }
    }
    return out;
  }
}

function readType(r, iface) {
  const t = r.peek();
  if (t === '_') throw new SyntaxError(`${r.file}: _ is only allowed in result<_, E>`);
  const n = r.name();
  if (n === 'list' || n === 'option') {
    r.expect('<');
    const of = readType(r, iface);
    r.expect('>');
    return { kind: n, of };
  }
  if (n === 'tuple') {
    r.expect('<');
    return { kind: 'tuple', of: r.commaList('>', () => readType(r, iface)) };
  }
  if (n === 'result' && typeof t === 'string') {
    if (!r.eat('<')) return { kind: 'result', ok: null, err: null };
    const ok = r.eat('_') ? null : readType(r, iface);
    const err = r.eat(',') ? readType(r, iface) : null;
    r.expect('>');
    return { kind: 'result', ok, err };
  }
  if (PRIMITIVES.has(n) && typeof t === 'string') return { kind: 'prim', name: n };
  if (['borrow', 'own', 'future', 'stream'].includes(n) && typeof t === 'string') {
    throw new SyntaxError(`${r.file}: WIT ${n}<...> is not supported by this reader`);
  }
  return { kind: 'ref', name: n, iface };
}

function readInterface(r, iface, into) {
  const types = new Map();
  const funcs = new Map();
  into.set(iface, { types, funcs });
  r.expect('{');
  while (!r.eat('}')) {
    const t = r.peek();
    if (t === 'record' || t === 'variant' || t === 'enum') {
      r.next();
      const name = r.name();
      r.expect('{');
      if (t === 'record') {
        const fields = r.commaList('}', () => {
          const field = r.name();
          r.expect(':');
          return { name: field, type: readType(r, iface) };
        });
        types.set(name, { kind: 'record', fields });
      } else if (t === 'variant') {
        const cases = r.commaList('}', () => {
          const c = r.name();
          if (!r.eat('(')) return { name: c, type: null };
          const type = readType(r, iface);
          r.expect(')');
          return { name: c, type };
        });
        types.set(name, { kind: 'variant', cases });
      } else {
        types.set(name, { kind: 'enum', cases: r.commaList('}', () => r.name()) });
      }
    } else if (t === 'type') {
      r.next();
      const name = r.name();
      r.expect('=');
      types.set(name, { kind: 'alias', type: readType(r, iface) });
      r.expect(';');
    } else if (t === 'use') {
      // use other.{a, b as c};
      r.next();
      let from = r.name();
      while (r.eat(':') || r.eat('/')) from = r.name(); // pkg:name/iface: keep the interface
      if (r.eat('@')) r.next();
      r.expect('.');
      r.expect('{');
      for (const { name, as } of r.commaList('}', () => {
        const name = r.name();
        return { name, as: r.eat('as') ? r.name() : name };
      })) {
        types.set(as, { kind: 'alias', type: { kind: 'ref', name, iface: from } });
      }
      r.expect(';');
    } else if (t === 'resource' || t === 'flags') {
      throw new SyntaxError(`${r.file}: WIT ${t} (in interface ${iface}) is not supported by this reader`);
    } else {
      const name = r.name();
      r.expect(':');
      r.eat('async');
      r.expect('func');
      r.expect('(');
      const params = r.commaList(')', () => {
        const p = r.name();
        r.expect(':');
        return { name: p, type: readType(r, iface) };
      });
      const result = r.eat('->') ? readType(r, iface) : null;
      r.expect(';');
      funcs.set(name, { params, result });
    }
  }
}

/**
 * Reads WIT sources into interface name → { types, funcs }.
 * @param {{ file: string, text: string }[]} sources
 * @returns {Map<string, { types: Map<string, object>, funcs: Map<string, { params: { name: string, type: object }[], result: object | null }> }>}
 */
export function readWit(sources) {
  const interfaces = new Map();
  for (const { file, text } of sources) {
    const r = new Reader(tokenize(text, file), file);
    while (r.peek() !== undefined) {
      const t = r.next();
      if (t === 'package') {
        while (r.next() !== ';');
      } else if (t === 'interface') {
        readInterface(r, r.name(), interfaces);
      } else if (t === 'world') {
        r.name();
        r.skipBlock();
      } else {
        throw new SyntaxError(`${file}: unexpected ${JSON.stringify(ident(t))} at the top level`);
      }
    }
  }
  return interfaces;
}

/**
 * Follows aliases and `use` to a named type's definition.
 * @returns {object} a record, variant or enum definition, or a non-ref type
 */
export function resolve(interfaces, type) {
  for (let seen = 0; type.kind === 'ref' || type.kind === 'alias'; seen++) {
    if (seen > 64) throw new Error('WIT type aliases form a cycle');
    if (type.kind === 'alias') {
      type = type.type;
      continue;
    }
    const def = interfaces.get(type.iface)?.types.get(type.name);
    if (def === undefined) throw new Error(`WIT type ${type.name} is not defined in interface ${type.iface}`);
    type = def;
  }
  return type;
}
