// In workerd: examples/cloudflare-durable-object/ on a real Durable Object
// with SQLite storage (`ctx.storage.sql`). The test handler asks one object
// (over RPC, as the example's Worker does) to check the store's contract
// (versions, conflicts, byte order, cursor paging) and to run a synchronous
// channel (`createChannel`) on it: a verified setup, a send and a reply in
// its thread; a second object (another workspace) sees none of it. Then it
// calls the example Worker's fetch: no key is 401, a key sends.
// Run by `node test/portable/workerd.mjs test/portable/durable-object.mjs`,
// which gives the class a SQLite-backed namespace bound as MAILROOM.

import worker, { MailroomChannel } from '../../examples/cloudflare-durable-object/worker.mjs';
import { durableObjectStore } from '../../examples/cloudflare-durable-object/store.mjs';
import { clinic } from '../../examples/clinic.mjs';

function check(ok, what) {
  if (!ok) throw new Error(what);
}

function throwsKind(f, kind, what) {
  try {
    f();
  } catch (e) {
    check(e.kind === kind || e.payload === kind || String(e.message).includes(kind), `${what}: ${e}`);
    return;
  }
  throw new Error(`${what}: no error`);
}

const bytes = (s) => new TextEncoder().encode(s);

/** The example's object, with two checks callable over RPC. */
export class TestChannel extends MailroomChannel {
  checkStore() {
    const store = durableObjectStore(this.ctx.storage);
    check(store.get('a') === null, 'a missing key');
    check(store.put('a', bytes('1'), { kind: 'absent' }) === 1, 'created at version 1');
    throwsKind(() => store.put('a', bytes('2'), { kind: 'absent' }), 'conflict', 'absent on an existing key');
    check(store.put('a', bytes('2'), { kind: 'version', version: 1 }) === 2, 'updated to version 2');
    throwsKind(() => store.put('a', bytes('3'), { kind: 'version', version: 1 }), 'conflict', 'a stale version');
    check(new TextDecoder().decode(store.get('a').value) === '2', 'the value written');
    throwsKind(() => store.delete('a', { kind: 'version', version: 1 }), 'conflict', 'delete at a stale version');
    store.delete('a', { kind: 'version', version: 2 });
    check(store.get('a') === null, 'deleted');
    // Byte order of UTF-8 keys, and paging with a cursor.
    const keys = ['p/b', 'p/a', 'p/\u00e9', 'p/Z', 'p/a0', 'q/x'];
    for (const k of keys) store.put(k, bytes(k), { kind: 'any' });
    const seen = [];
    let cursor = null;
    do {
      const page = store.list('p/', cursor, 2);
      seen.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== null);
    check(JSON.stringify(seen) === JSON.stringify(['p/Z', 'p/a', 'p/a0', 'p/b', 'p/\u00e9']), `list order ${seen}`);
    return seen.length;
  }

  async checkChannel() {
    const { useCase } = await clinic(this.channel);
    const sent = this.channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Your results', text: 'All clear.' });
    const reply = this.channel.send('ws-1', { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Re: Your results', text: 'More.', inReplyTo: sent.messageId });
    check(reply.threadId === sent.threadId, 'the reply joins the thread');
    return useCase.id;
  }

  useCaseVisible(workspace, id) {
    try {
      this.channel.useCases.get(workspace, id);
      return true;
    } catch {
      return false;
    }
  }
}

export default {
  async test(_controller, env) {
    const one = env.MAILROOM.get(env.MAILROOM.idFromName('store'));
    check((await one.checkStore()) === 5, 'the store contract');
    const clinicObject = env.MAILROOM.get(env.MAILROOM.idFromName('ws-1'));
    const useCase = await clinicObject.checkChannel();
    check(await clinicObject.useCaseVisible('ws-1', useCase), 'the use case is stored');
    check(!(await clinicObject.useCaseVisible('ws-2', useCase)), "another workspace's use case is not found");
    // The example Worker: a key names the workspace; none is 401.
    const workerEnv = { ...env, API_KEYS: JSON.stringify({ 'key-of-ws-1': 'ws-1' }) };
    const body = JSON.stringify({ useCase, to: [{ address: 'pat@example.com' }], subject: 'Hello', text: 'Hi.' });
    const refused = await worker.fetch(new Request('https://w.example/messages', { method: 'POST', body }), workerEnv);
    check(refused.status === 401, `no key: ${refused.status}`);
    const answered = await worker.fetch(
      new Request('https://w.example/messages', { method: 'POST', body, headers: { authorization: 'Bearer key-of-ws-1' } }),
      workerEnv,
    );
    const text = await answered.text();
    check(answered.status === 201, `with a key: ${answered.status} ${text}`);
    check(JSON.parse(text).messageId.endsWith('@clinic.example'), text);
  },
};
