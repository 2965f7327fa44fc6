// A type test (`tsc -p test/tsconfig.json`): the declarations describe the
// API as the tests use it; a wrong type here fails the compile.

import {
  createAsyncChannel, createChannel, handleTracking, kvStore, MailroomError, nodemailerTransport, parse,
  type AsyncChannel, type Channel, type ChannelConfig, type Decision, type Policy, type Report, type Setup, type VersionedKv,
} from '@mailroom/channel';
import { nodeDns } from '@mailroom/channel/node';

const channel: Channel = createChannel({ dns: nodeDns({ servers: ['127.0.0.1'] }) });
const subject: string | null = parse('Subject: x\r\n\r\n').subject;
const decision: Decision = channel.suppression.check('ws', 'uc', 'a@example.com');
if (decision.kind === 'suppressed') decision.suppression.scope satisfies { kind: string };
const policy: Policy = channel.suppression.getPolicy('ws', 'set');
channel.suppression.setPolicy('ws', 'set', { ...policy, unsubscribeScope: { kind: 'setup' } });
const report: Report = channel.events.ingestReport(new Uint8Array());
if (report.outcome.kind === 'matched') report.outcome.events[0].suppressions satisfies unknown[];
channel.events.record({ id: 'e', messageId: 'm', recipient: 'r@x', kind: { kind: 'bounced', bounce: { type: 'soft' } } });
const recordedKind: string = channel.events.record({ id: 'c', messageId: 'm', recipient: 'r@x', kind: { kind: 'clicked', report: { userAgent: 'ua', url: 'https://x.example/' } } }).kind.kind;
const count: number = channel.reporting.count('ws', { kind: 'use-case', useCase: 'uc' }, 0, 1).counts.sent;
const opens: number = channel.reporting.countEngagement('ws', { kind: 'use-case', useCase: 'uc' }, 0, 1).engagement.opensHuman;
const clicks: number = channel.reporting.linkClicks('ws', 'uc', 0, 1)[0].human;
channel.tracking.setSettings('ws', 'uc', { ...channel.tracking.getSettings('ws', 'uc'), opens: false });
const base: string = channel.tracking.setBase('ws', 'set', null);
const pixel: string | null = channel.tracking.message('ws', 'id@x').pixelUrl;
const tracked: Promise<Response | null> = handleTracking(channel, new Request('https://t.example/t/o/x'));
const url: string | null = channel.send('ws', { useCase: 'uc', to: [{ address: 'a@x' }], subject: 's', text: 't' }).unsubscribeUrl;

const kv: VersionedKv<string> = {
  get: async () => null,
  set: async () => true,
  delete: async () => true,
  list: async () => [],
};
const asyncChannel: AsyncChannel = createAsyncChannel({ store: kvStore(kv), config: { limits: { maxBytes: 1n << 20n } } });

const config: ChannelConfig = { inboundHost: 'inbound.example', unsubscribeBase: null, limits: { maxBytes: 1 << 20, maxDepth: 8 } };
const configured = createChannel({ config });
const defaulted: Setup = configured.setups.create('ws', 'a.example');
configured.setups.create('ws', 'b.example', { spfInclude: 'amazonses.com' });
configured.setups.create('ws', 'c.example', { pendingTtl: 3600 });
configured.setups.create('ws', 'd.example', { bounceDomain: 'returns.d.example' });
const mine: Setup[] = configured.setups.list('ws');
const expires: number | null = mine[0].expiresAt;
const created: number = defaulted.createdAt;
if (defaulted.status === 'expired') defaulted.expiresAt satisfies number | null;
const later: Promise<Setup[]> = asyncChannel.setups.list('ws');
// @ts-expect-error: the workspace comes first
channel.setups.get('set');
// @ts-expect-error: the workspace comes first
channel.send({ useCase: 'uc', to: [], subject: 's' });
configured.receive('raw', null, { maxParts: 10 });
// @ts-expect-error: not a ChannelConfig key
createChannel({ config: { inboundhost: 'x' } });
// @ts-expect-error: a limit is a number
createChannel({ config: { limits: { maxDepth: '8' } } });
const received: Promise<{ messageId: string }> = asyncChannel.receive('raw');
const optOut: Promise<{ httpStatus: number }> = asyncChannel.unsubscribe.oneClick('t', null, '');
const transport = nodemailerTransport({ sendMail: async () => ({}) }, { report: (id, o) => asyncChannel.report(id, o) });
const idle: Promise<void> = transport.idle();
try {
  channel.send('ws', { useCase: 'uc', to: [], subject: 's' });
} catch (err) {
  if (err instanceof MailroomError && err.kind === 'suppressed') err.suppressions?.map((s) => s.address);
}

export { subject, count, url, received, optOut, idle, defaulted, expires, created, later };

// Issue 21: stream inputs, raw headers, localDns.
import { localDns, parseAsync, type Header, type LocalDns, type StreamInput } from '@mailroom/channel';
const headers: Header[] = parse('Subject: x\r\n\r\n').headers;
const firstName: string | undefined = headers[0]?.name;
const stream: StreamInput = new Response('x').body!;
const fromStream: Promise<string | null> = parseAsync(stream, { maxBytes: 1024 }).then((m) => m.subject);
const fromBlob: Promise<number> = parseAsync(new Blob(['x'])).then((m) => m.headers.length);
const viaChannel: Promise<string> = channel.receiveAsync(new Response('x'), { rcptTo: ['a@x'] }).then((r) => r.messageId);
const reportAsync: Promise<Report> = channel.events.ingestReportAsync(new Blob(['x']));
const asyncReceived: Promise<string> = asyncChannel.receive(new Response('x').body!, null).then((r) => r.message.headers[0]?.value ?? '');
const asyncParsed: Promise<string | null> = asyncChannel.parse('Subject: x\r\n\r\n').then((m) => m.subject);
const asyncReport: Promise<Report> = asyncChannel.events.ingestReport(new Uint8Array());
const asyncRecorded: Promise<unknown> = asyncChannel.events.record({ id: 'e', messageId: 'm', recipient: 'r@x', kind: { kind: 'delivered' } });
const dns: LocalDns = localDns().addTxt('a.example', 'v=spf1 -all').addMx('a.example', 10, 'mx.example');
createChannel({ dns });
// @ts-expect-error the synchronous parse takes bytes only
parse(new Response('x').body!);
