// Workspace scope through createChannel, runtime-neutral (Node's
// test/scoping.test.mjs, and runSuites in Node 24, Deno and workerd): two
// workspaces on one channel; every scoped call made with the other
// workspace's real ids throws the MailroomError a missing id gets (same
// kind, same text but for the id), setups.list holds only the caller's own,
// and a refused call writes nothing to the store. Also the domain rule: a
// pending setup holds no domain, a verified one does.

import { createChannel, MailroomError, MemoryStore } from '../../src/index.js';
import { publishedAnswers } from '../../examples/clinic.mjs';

const OPTIONS = { inboundHost: 'inbound.mailroom.example' };

function assert(ok, what) {
  if (!ok) throw new Error(what);
}

/** The MailroomError `f` throws (or rejects with). */
async function caught(f, what) {
  try {
    await f();
  } catch (err) {
    assert(err instanceof MailroomError, `${what}: threw ${err}, not a MailroomError`);
    return err;
  }
  throw new Error(`${what}: did not throw`);
}

/** Every key, version and value of the store, as text. */
function snapshot(store) {
  return JSON.stringify([...store.entries()].map(([k, { value, version }]) => [k, version, [...value]]));
}

function tenant(channel, workspace, domain) {
  const created = channel.setups.create(workspace, domain, OPTIONS);
  const { setup } = channel.setups.verify(workspace, created.id, publishedAnswers(created));
  assert(setup.status === 'verified', `${domain}: ${setup.status}`);
  const useCase = channel.useCases.create(workspace, {
    setup: setup.id, sender: `news@${domain}`, type: 'marketing', entityName: domain, useCaseName: 'News',
  });
  channel.send(workspace, { useCase: useCase.id, to: [{ address: 'pat@example.com' }], subject: 'Hi', text: 'Hello.' });
  return { setup, useCase };
}

/** Throws unless the workspace scope holds; resolves to null (runSuites' "no problem"). */
export async function workspaceScope() {
  const store = new MemoryStore();
  const asked = [];
  const dns = { resolveTxt: async (n) => (asked.push(n), []), resolveMx: async (n) => (asked.push(n), []) };
  const channel = createChannel({ store, dns });
  const a = tenant(channel, 'ws-a', 'a.example');
  const b = tenant(channel, 'ws-b', 'b.example');

  const ids = (s) => s.map((x) => x.id).join(' ');
  assert(ids(channel.setups.list('ws-a')) === a.setup.id, `setups.list(ws-a): ${ids(channel.setups.list('ws-a'))}`);
  assert(ids(channel.setups.list('ws-b')) === b.setup.id, `setups.list(ws-b): ${ids(channel.setups.list('ws-b'))}`);
  assert(channel.setups.list('ws-nobody').length === 0, 'setups.list of a workspace with none');
  // The owner still reads its own.
  assert(channel.setups.get('ws-a', a.setup.id).id === a.setup.id, 'the owner reads its setup');
  assert(channel.useCases.get('ws-a', a.useCase.id).id === a.useCase.id, 'the owner reads its use case');

  // Workspace b calls with a's real ids; each answer must equal the one for a missing id.
  const S = a.setup.id;
  const U = a.useCase.id;
  const MS = 'set_0000000000000000';
  const MU = 'uc_0000000000000000';
  const answers = publishedAnswers(a.setup);
  const policy = channel.suppression.getPolicy('ws-a', S);
  const send = (u) => ({ useCase: u, to: [{ address: 'pat@example.com' }], subject: 'x', text: 'x' });
  const calls = [
    ['setups.get', 'not-found', (s) => channel.setups.get('ws-b', s), 'setup'],
    ['setups.lookups', 'not-found', (s) => channel.setups.lookups('ws-b', s), 'setup'],
    ['setups.verify', 'not-found', (s) => channel.setups.verify('ws-b', s, answers), 'setup'],
    ['setups.verifyWithDns', 'not-found', (s) => channel.setups.verifyWithDns('ws-b', s), 'setup'],
    ['setups.rotateDkim', 'not-found', (s) => channel.setups.rotateDkim('ws-b', s), 'setup'],
    ['useCases.create', 'unknown-setup', (s) => channel.useCases.create('ws-b', { setup: s, sender: 'x@a.example', type: 'transactional', entityName: 'X', useCaseName: 'X' }), 'setup'],
    ['useCases.list', 'unknown-setup', (s) => channel.useCases.list('ws-b', s), 'setup'],
    ['useCases.get', 'not-found', (u) => channel.useCases.get('ws-b', u), 'use case'],
    ['useCases.disable', 'not-found', (u) => channel.useCases.disable('ws-b', u), 'use case'],
    ['useCases.setListUnsubscribe', 'not-found', (u) => channel.useCases.setListUnsubscribe('ws-b', u, true), 'use case'],
    ['send', 'unknown-use-case', (u) => channel.send('ws-b', send(u)), 'use case'],
    ['suppression.check', 'unknown-use-case', (u) => channel.suppression.check('ws-b', u, 'pat@example.com'), 'use case'],
    ['suppression.get', 'unknown-setup', (s) => channel.suppression.get('ws-b', s, 'pat@example.com'), 'setup'],
    ['suppression.list', 'unknown-setup', (s) => channel.suppression.list('ws-b', s), 'setup'],
    ['suppression.remove', 'unknown-setup', (s) => channel.suppression.remove('ws-b', s, 'pat@example.com', 'n'), 'setup'],
    ['suppression.getPolicy', 'unknown-setup', (s) => channel.suppression.getPolicy('ws-b', s), 'setup'],
    ['suppression.setPolicy', 'unknown-setup', (s) => channel.suppression.setPolicy('ws-b', s, { ...policy, softBounceCount: 9 }), 'setup'],
    ['suppression.getHealth', 'unknown-setup', (s) => channel.suppression.getHealth('ws-b', s), 'setup'],
    ['suppression.clearPause', 'unknown-setup', (s) => channel.suppression.clearPause('ws-b', s, 'n'), 'setup'],
    ['reporting.count', 'not-found', (s) => channel.reporting.count('ws-b', { kind: 'setup', setup: s }, 0, 86400), 'setup'],
    ['reporting.count', 'not-found', (u) => channel.reporting.count('ws-b', { kind: 'use-case', useCase: u }, 0, 86400), 'use case'],
  ];
  const before = snapshot(store);
  const sentBefore = channel.transport.sent.length;
  for (const [call, kind, f, of] of calls) {
    const [real, missing] = of === 'setup' ? [S, MS] : [U, MU];
    const other = await caught(() => f(real), `${call} with ws-a's ${of}`);
    const none = await caught(() => f(missing), `${call} with a missing ${of}`);
    assert(none.kind === kind, `${call} with a missing ${of}: kind ${none.kind}, expected ${kind}`);
    assert(other.kind === kind, `${call} with ws-a's ${of}: kind ${other.kind}, expected ${kind}`);
    assert(other.call === none.call, `${call}: call ${other.call} vs ${none.call}`);
    const text = (e, id) => e.message.split(id).join('<id>');
    assert(text(other, real) === text(none, missing), `${call}: "${other.message}" differs from "${none.message}"`);
    assert(snapshot(store) === before, `${call} with ws-a's ${of} wrote to the store`);
  }
  assert(asked.length === 0, `verifyWithDns resolved ${asked.join(', ')} for another workspace's setup`);
  assert(channel.transport.sent.length === sentBefore, 'a refused send went out');
  // a's objects are as they were.
  assert(channel.useCases.get('ws-a', U).enabled === true, "ws-a's use case is still enabled");
  assert(channel.setups.get('ws-a', S).nextSelector === null, "ws-a's setup is not rotating");

  // The domain rule: a verified setup holds its domain for everyone else; a
  // pending one holds nothing (a rival pending setup of another workspace
  // is created, and the first to verify owns the domain).
  const taken = await caught(() => channel.setups.create('ws-b', 'a.example', OPTIONS), 'a second setup of a verified domain');
  assert(taken.kind === 'domain-taken', `a second setup of a verified domain: ${taken.kind}`);
  const first = channel.setups.create('ws-a', 'c.example', OPTIONS);
  const rival = channel.setups.create('ws-b', 'c.example', OPTIONS);
  assert(first.status === 'pending' && rival.status === 'pending' && first.id !== rival.id, 'two pending setups of one domain');
  assert(channel.setups.verify('ws-b', rival.id, publishedAnswers(rival)).setup.status === 'verified', 'the rival verifies first');
  const late = await caught(() => channel.setups.verify('ws-a', first.id, publishedAnswers(first)), 'the later verify');
  assert(late.kind === 'domain-taken', `the later verify: ${late.kind}`);
  assert(channel.setups.get('ws-a', first.id).status === 'pending', 'the later setup stays pending');
  return null;
}
