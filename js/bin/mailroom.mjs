#!/usr/bin/env node
// mailroom: parse a message with the mailroom component and print its
// canonical JSON (the same bytes the Rust host prints).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, MailroomParseError } from '../src/index.js';
import { canonicalJson } from '../src/canonical.js';

const USAGE = `Usage: mailroom parse FILE.eml [--max-bytes N] [--max-depth N] [--max-parts N]

Parses FILE.eml (or standard input for "-") and prints the message's
canonical JSON to standard output.

Options:
  --max-bytes N   largest input accepted, in bytes (default 52428800, at most 1073741824)
  --max-depth N   deepest MIME nesting accepted (default 64, at most 1024)
  --max-parts N   most MIME parts accepted (default 5000, at most 1000000)
  -h, --help      print this help
  --version       print the version

Exit status:
  0  parsed: the message's JSON was printed
  2  the component returned a parse error: its JSON ({"error": ...}) was printed
  1  anything else: a usage error, an unreadable file, or a crash
`;

class UsageError extends Error {}

function limit(values, flag) {
  const text = values[flag];
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${flag} wants a non-negative integer, not ${JSON.stringify(text)}`);
  const n = BigInt(text);
  // Zero and values above a maximum are the component's to reject
  // (invalid-limits, exit 2); values no WIT integer can hold are usage errors.
  const max = flag === 'max-bytes' ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn;
  if (n > max) throw new UsageError(`--${flag} ${text} is out of range`);
  return flag === 'max-bytes' ? n : Number(n);
}

async function readInput(file) {
  if (file !== '-') return readFileSync(file);
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'max-bytes': { type: 'string' },
        'max-depth': { type: 'string' },
        'max-parts': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const [command, file, ...rest] = positionals;
  if (command !== 'parse') {
    throw new UsageError(command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`);
  }
  if (file === undefined) throw new UsageError('parse wants a FILE (or - for standard input)');
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);

  const limits = {
    maxBytes: limit(values, 'max-bytes'),
    maxDepth: limit(values, 'max-depth'),
    maxParts: limit(values, 'max-parts'),
  };
  const raw = await readInput(file);
  try {
    process.stdout.write(canonicalJson(parse(raw, limits)));
    return 0;
  } catch (err) {
    if (!(err instanceof MailroomParseError)) throw err;
    process.stdout.write(canonicalJson(err));
    return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`mailroom: ${err.message}\n\n${USAGE}`);
  } else if (err?.code === 'ENOENT' || err?.code === 'EISDIR' || err?.code === 'EACCES') {
    process.stderr.write(`mailroom: ${err.message}\n`);
  } else {
    process.stderr.write(`mailroom: crashed: ${err?.stack ?? err}\n`);
  }
  process.exitCode = 1;
}
