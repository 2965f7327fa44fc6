// One cold start, in a fresh `node` process: `node bench/cold.mjs PEER`.
// Prints JSON, times in seconds from the start of this module (Node's own
// boot, the same for every peer, is not included; parse.mjs times the whole
// process too):
//   import_s        the peer's module graph loaded (for mailroom: the facade,
//                   jco's glue and the WASI shim; no WebAssembly yet)
//   first_parse_s   import plus the first parse's answer (for mailroom: the
//                   core modules compiled and instantiated on that call)
//   instantiate_s   first parse minus a second one: what the first call pays
//                   beyond parsing (mailroom: compile + instantiate)
//   import_cpu_s, first_parse_cpu_s
//                   the process's CPU time (process.cpuUsage, all threads)
//                   at the same two marks: on a shared, loaded machine
//                   wall time also counts waiting for a core

import { performance } from 'node:perf_hooks';

const t0 = performance.now();
const c0 = process.cpuUsage();
const cpu = () => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const TINY = new TextEncoder().encode(
  'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nHello.\r\n',
);
const peer = process.argv[2];

let parseOnce;
if (peer === 'mailroom') {
  const { parse } = await import('../src/index.js');
  parseOnce = async (raw) => parse(raw);
} else if (peer === 'postal-mime') {
  const { default: PostalMime } = await import('postal-mime');
  parseOnce = (raw) => PostalMime.parse(raw);
} else if (peer === 'mailparser') {
  const { simpleParser } = await import('mailparser');
  parseOnce = (raw) => simpleParser(Buffer.from(raw));
} else {
  throw new Error(`unknown peer ${peer}`);
}
const t1 = performance.now();
const u1 = cpu();
await parseOnce(TINY);
const t2 = performance.now();
const u2 = cpu();
await parseOnce(TINY);
const t3 = performance.now();

process.stdout.write(
  JSON.stringify({
    import_s: (t1 - t0) / 1000,
    first_parse_s: (t2 - t0) / 1000,
    instantiate_s: (t2 - t1 - (t3 - t2)) / 1000,
    import_cpu_s: u1,
    first_parse_cpu_s: u2,
  }) + '\n',
);
