// Engagement tracking through createChannel and handleTracking, runtime-
// neutral (Node's test/tracking.test.mjs, and runSuites in Node 24, Deno and
// workerd): a marketing send rewrites its one web link and adds the pixel;
// fetch Requests for the pixel and the link get the 43-byte GIF and a 302
// to the stored URL; HEAD is answered and counted as a machine; forged,
// wrong-kind and 1 MB tokens get a plain 404 page, never a redirect, and
// record nothing; other paths resolve to null; reporting counts one person;
// another workspace sees the tracking calls answer as for a missing id.

import { createChannel, handleTracking, MailroomError, MemoryStore } from '../../src/index.js';
import { publishedAnswers } from '../../examples/clinic.mjs';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

function assert(ok, what) {
  if (!ok) throw new Error(what);
}

async function caught(f, what) {
  try {
    await f();
  } catch (err) {
    assert(err instanceof MailroomError, `${what}: threw ${err}, not a MailroomError`);
    return err;
  }
  throw new Error(`${what}: did not throw`);
}

function snapshot(store) {
  return JSON.stringify([...store.entries()].map(([k, { value, version }]) => [k, version, [...value]]));
}

/** Throws unless tracking over fetch holds; resolves to null (runSuites' "no problem"). */
export async function trackingOverFetch() {
  const store = new MemoryStore();
  const channel = createChannel({ store });
  const created = channel.setups.create('ws-a', 'a.example', { inboundHost: 'inbound.mailroom.example' });
  const { setup } = channel.setups.verify('ws-a', created.id, publishedAnswers(created));
  const uc = channel.useCases.create('ws-a', {
    setup: setup.id, sender: 'news@a.example', type: 'marketing', entityName: 'A', useCaseName: 'News',
  });
  const settings = channel.tracking.getSettings('ws-a', uc.id);
  assert(settings.opens && settings.clicks && settings.scannerWindowSecs === 10, `defaults: ${JSON.stringify(settings)}`);
  channel.tracking.setSettings('ws-a', uc.id, { opens: true, clicks: true, scannerWindowSecs: 0 });
  assert(channel.tracking.getBase('ws-a', setup.id) === 'https://inbound.mailroom.example/t', 'the default base');
  const sent = channel.send('ws-a', {
    useCase: uc.id,
    to: [{ address: 'pat@example.com' }],
    subject: 'Spring news',
    text: 'Hours: https://a.example/hours?x=1&y=2\r\nUnsubscribe: [[unsubscribe-url]]\r\n',
    html: '<html><body><p><a href="https://a.example/hours?x=1&amp;y=2">hours</a></p>'
      + '<p><a href="mailto:desk@a.example">desk</a> <a href="[[unsubscribe-url]]">unsubscribe</a></p></body></html>',
  });
  const raw = new TextDecoder().decode(channel.transport.sent.at(-1).raw);
  assert(raw.includes('/t/c/') && raw.includes('/t/o/'), 'the sent HTML carries a tracked link and the pixel');
  const m = channel.tracking.message('ws-a', sent.messageId);
  assert(m.links.length === 1 && m.links[0].url === 'https://a.example/hours?x=1&y=2', `links: ${JSON.stringify(m.links)}`);

  const get = (url, init = {}) => new Request(url, { ...init, headers: { 'user-agent': CHROME, ...(init.headers ?? {}) } });
  let r = await handleTracking(channel, get(m.pixelUrl));
  assert(r.status === 200 && r.headers.get('content-type') === 'image/gif', `pixel: ${r.status} ${r.headers.get('content-type')}`);
  assert(/no-store/.test(r.headers.get('cache-control') ?? ''), 'the pixel is not cached');
  const gif = new Uint8Array(await r.arrayBuffer());
  assert(gif.length === 43 && String.fromCharCode(...gif.slice(0, 6)) === 'GIF89a', `pixel bytes: ${gif.length}`);

  r = await handleTracking(channel, get(m.links[0].trackedUrl));
  assert(r.status === 302 && r.headers.get('location') === 'https://a.example/hours?x=1&y=2', `click: ${r.status} ${r.headers.get('location')}`);
  r = await handleTracking(channel, get(m.links[0].trackedUrl, { method: 'HEAD' }));
  assert(r.status === 302 && r.body === null, `HEAD: ${r.status}`);

  const before = snapshot(store);
  const host = 'https://inbound.mailroom.example';
  for (const bad of [`${host}/t/c/${'A'.repeat(58)}`, `${host}/t/c/nope`, m.links[0].trackedUrl.replace('/t/c/', '/t/o/'), `${host}/t/c/${'A'.repeat(1 << 20)}`]) {
    r = await handleTracking(channel, get(bad));
    assert(r.status === 404 && r.headers.get('location') === null, `${bad.slice(0, 80)}: ${r.status}`);
    assert((await r.text()).includes('not valid'), 'a plain 404 page');
  }
  assert(snapshot(store) === before, 'refused tokens wrote nothing');
  assert((await handleTracking(channel, get(`${host}/elsewhere`))) === null, 'other paths are not ours');
  assert((await handleTracking(channel, get(m.pixelUrl, { method: 'HEAD' }))) === null, 'HEAD of the pixel is not ours');

  const after = channel.tracking.message('ws-a', sent.messageId);
  assert(after.opensHuman === 1 && after.opensMachine === 0, `opens: ${after.opensHuman}/${after.opensMachine}`);
  assert(after.links[0].human === 1 && after.links[0].machine === 1, `clicks: ${after.links[0].human}/${after.links[0].machine}`);
  const now = Math.floor(Date.now() / 1000);
  const { engagement } = channel.reporting.countEngagement('ws-a', { kind: 'use-case', useCase: uc.id }, now - 86400, now + 86400);
  const want = { opensHuman: 1, uniqueOpensHuman: 1, clicksHuman: 1, uniqueClicksHuman: 1, clicksMachine: 1, uniqueClicksMachine: 1, opensMachine: 0 };
  for (const [k, v] of Object.entries(want)) assert(Number(engagement[k]) === v, `${k}: ${engagement[k]}, expected ${v}`);
  const links = channel.reporting.linkClicks('ws-a', uc.id, now - 86400, now + 86400);
  assert(links.length === 1 && Number(links[0].human) === 1, `link clicks: ${JSON.stringify(links, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);

  // Another workspace: the answers of a missing id, nothing written.
  const quiet = snapshot(store);
  const calls = [
    ['tracking.getSettings', (u) => channel.tracking.getSettings('ws-b', u), uc.id, 'uc_0000000000000000'],
    ['tracking.setSettings', (u) => channel.tracking.setSettings('ws-b', u, { opens: false, clicks: false }), uc.id, 'uc_0000000000000000'],
    ['tracking.getBase', (s) => channel.tracking.getBase('ws-b', s), setup.id, 'set_0000000000000000'],
    ['tracking.setBase', (s) => channel.tracking.setBase('ws-b', s, 'https://evil.example/t'), setup.id, 'set_0000000000000000'],
    ['tracking.message', (id) => channel.tracking.message('ws-b', id), sent.messageId, '0000@a.example'],
    ['reporting.countEngagement', (u) => channel.reporting.countEngagement('ws-b', { kind: 'use-case', useCase: u }, 0, 86400), uc.id, 'uc_0000000000000000'],
    ['reporting.linkClicks', (u) => channel.reporting.linkClicks('ws-b', u, 0, 86400), uc.id, 'uc_0000000000000000'],
  ];
  for (const [call, f, real, missing] of calls) {
    const other = await caught(() => f(real), `${call} with ws-a's id`);
    const none = await caught(() => f(missing), `${call} with a missing id`);
    assert(other.kind === 'not-found' && none.kind === 'not-found', `${call}: ${other.kind} / ${none.kind}`);
    assert(other.message.split(real).join('<id>') === none.message.split(missing).join('<id>'), `${call}: "${other.message}" vs "${none.message}"`);
  }
  assert(snapshot(store) === quiet, "another workspace's calls wrote nothing");
  return null;
}
