// Workspace scope through createChannel (test/portable/scoping.mjs, which
// runSuites also runs in Node 24, Deno and workerd).

import { test } from 'node:test';
import { workspaceScope } from './portable/scoping.mjs';

test('workspace scope: another workspace\'s ids answer as missing ones, list holds only the caller\'s, a refused call writes nothing; a pending setup holds no domain', async () => {
  await workspaceScope();
});
