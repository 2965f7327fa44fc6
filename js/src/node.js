// `@mailroom/channel/node`: what only Node.js (and Deno) has. Types and
// documentation: node.d.ts.

import { Resolver } from 'node:dns/promises';

/**
 * A DnsResolver over `node:dns`, with its own servers and timeout.
 * @param {{ servers?: string[], timeout?: number, tries?: number }} [options]
 */
export function nodeDns({ servers, timeout = 5000, tries = 2 } = {}) {
  const resolver = new Resolver({ timeout, tries });
  if (servers !== undefined) resolver.setServers(servers);
  return { resolveTxt: (name) => resolver.resolveTxt(name), resolveMx: (name) => resolver.resolveMx(name) };
}
