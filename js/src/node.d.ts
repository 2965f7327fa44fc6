/**
 * `@mailroom/channel/node`: what needs Node.js (or Deno's `node:` modules).
 * @module
 */

import type { DnsResolver } from './index.js';

/**
 * A {@link DnsResolver} over `node:dns` with its own resolver: `servers`
 * (e.g. `['1.1.1.1']`, or `['127.0.0.1:5353']`; default the system's),
 * `timeout` per query in ms (default 5000) and `tries` (default 2). Pass it
 * as `createChannel({ dns: nodeDns({ servers: ['1.1.1.1'] }) })`; without
 * `dns`, `setups.verifyWithDns` uses `node:dns/promises` with the system's
 * settings.
 */
export function nodeDns(options?: { servers?: string[]; timeout?: number; tries?: number }): DnsResolver;
