// Stream inputs under Node.js: a Node.js Readable (and a file stream), the
// web kinds, the async variants of parse, receive and ingestReport, and the
// synchronous calls' TypeError. The runtime-neutral suite
// (test/portable/streams.mjs) also runs under Deno, workerd and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createAsyncChannel, createChannel, parse, parseAsync, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';
import { countingStream, inputKinds, overLimitIsNotReadToTheEnd, parsedAsync } from './portable/streams.mjs';

const dir = fileURLToPath(new URL('../../tests/fixtures/inbound/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
const golden = (f) => readFileSync(`${dir}${f.replace(/\.eml$/, '.json')}`, 'utf8');

const kinds = inputKinds([
  ['Node.js Readable', (b) => Readable.from([b.subarray(0, 10), b.subarray(10)])],
  ['Node.js Readable, 100-byte Buffers', (b) => Readable.from(Array.from({ length: Math.ceil(b.length / 100) }, (_, i) => Buffer.from(b.subarray(i * 100, i * 100 + 100))))],
]);

for (const [kind, make] of kinds) {
  test(`parseAsync(${kind}) gives each conformance fixture's golden JSON`, async () => {
    for (const f of fixtures) {
      const bytes = new Uint8Array(readFileSync(`${dir}${f}`));
      assert.equal(await parsedAsync(canonicalJson, make(bytes)), golden(f), f);
    }
  });
}

test('parseAsync(fs.createReadStream(path)) equals parse(readFileSync(path))', async () => {
  for (const f of fixtures.slice(0, 10)) {
    assert.equal(await parsedAsync(canonicalJson, createReadStream(`${dir}${f}`, { highWaterMark: 512 })), golden(f), f);
  }
});

test('a ReadableStream over max-bytes is refused without being read to its end', async () => {
  assert.equal(await overLimitIsNotReadToTheEnd(), null);
});

test('a Node.js Readable over max-bytes is destroyed after max-bytes, not drained', async () => {
  let produced = 0;
  const readable = new Readable({
    highWaterMark: 1024,
    read() {
      if (produced >= 10_000_000) return this.push(null);
      produced += 1024;
      this.push(Buffer.alloc(1024, 0x61));
    },
  });
  const err = await parseAsync(readable, { maxBytes: 20_000 }).then(() => null, (e) => e);
  assert.ok(err instanceof MailroomParseError);
  assert.equal(err.kind, 'limit-exceeded');
  assert.equal(err.limit, 'max-bytes');
  assert.ok(produced < 40_000, `produced ${produced} bytes`);
  assert.ok(readable.destroyed);
});

test('a Blob over max-bytes: only max-bytes + 1 bytes are read, same error as the bytes', async () => {
  const raw = 'Subject: x\r\n\r\n' + 'y'.repeat(5000);
  let sliced = null;
  class SpyBlob extends Blob {
    slice(start, end) {
      sliced = [start, end];
      return super.slice(start, end);
    }
  }
  const spy = new SpyBlob([raw]);
  const fromBlob = await parseAsync(spy, { maxBytes: 100 }).then(() => null, (e) => e);
  assert.deepEqual(sliced, [0, 101]);
  let fromBytes;
  try {
    parse(raw, { maxBytes: 100 });
  } catch (e) {
    fromBytes = e;
  }
  assert.equal(canonicalJson(fromBlob), canonicalJson(fromBytes));
});

test('the async variants take bytes too, and invalid limits before reading', async () => {
  const raw = 'From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n';
  assert.deepEqual(await parseAsync(raw), parse(raw));
  const { stream, counter } = countingStream(new TextEncoder().encode(raw));
  await assert.rejects(parseAsync(stream, { maxDepth: -1 }), RangeError);
  assert.equal(counter.pulled, 0);
  await assert.rejects(parseAsync(42), TypeError);
});

test('the synchronous calls refuse a stream with a TypeError naming the async variant', () => {
  const channel = createChannel();
  const stream = new Response('x').body;
  assert.throws(() => parse(stream), (e) => e instanceof TypeError && /a ReadableStream, use `await parseAsync\(\.\.\.\)`/.test(e.message));
  assert.throws(() => parse(new Blob(['x'])), /a Blob, use `await parseAsync/);
  assert.throws(() => parse(new Response('x')), /a Response, use `await parseAsync/);
  assert.throws(() => parse(Readable.from(['x'])), /for an async iterable \(a Node\.js Readable\), use `await parseAsync/);
  assert.throws(() => channel.receive(stream), /use `await channel\.receiveAsync\(\.\.\.\)`/);
  assert.throws(() => channel.events.ingestReport(stream), /use `await channel\.events\.ingestReportAsync\(\.\.\.\)`/);
});

test('channel.receiveAsync and events.ingestReportAsync take streams; the channel is called once', async () => {
  const channel = createChannel();
  const raw = 'From: pat@example.com\r\nTo: care@clinic.example\r\nMessage-ID: <r1@example.com>\r\nSubject: hi\r\n\r\nhello\r\n';
  const got = await channel.receiveAsync(new Response(raw).body, { mailFrom: 'pat@example.com', rcptTo: ['care@clinic.example'] });
  assert.equal(got.messageId, 'r1@example.com');
  assert.equal(got.resolution.kind, 'unmatched');
  assert.equal(got.message.headers.find((h) => h.name === 'Message-ID').value, '<r1@example.com>');
  const bytes = new TextEncoder().encode(raw.replace('r1@', 'r2@'));
  const viaParse = channel.parse(bytes);
  assert.deepEqual((await channel.receiveAsync(Readable.from([bytes]))).message, viaParse);
  await assert.rejects(channel.receiveAsync(new Response(raw).body, { rcptTo: 'nope' }), TypeError);
  const report = await channel.events.ingestReportAsync(new Blob([raw]));
  assert.equal(report.outcome.kind, 'ignored');
});

test('an async channel takes a stream in parse, receive and events.ingestReport directly', { skip: typeof WebAssembly.Suspending !== 'function' && 'no JSPI in this Node.js' }, async () => {
  const channel = createAsyncChannel();
  const raw = 'From: pat@example.com\r\nTo: care@clinic.example\r\nSubject: hi\r\n\r\nhello\r\n';
  assert.equal((await channel.parse(new Response(raw).body)).subject, 'hi');
  assert.equal((await channel.receive(new Response(raw).body)).message.subject, 'hi');
  assert.equal((await channel.events.ingestReport(new Response(raw))).outcome.kind, 'ignored');
  assert.equal((await channel.parseAsync(new Blob([raw]))).subject, 'hi');
});
