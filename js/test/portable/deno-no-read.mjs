// Run by test/options.test.mjs as `deno run --no-prompt --allow-env` (no
// --allow-read): prints the message parse() fails with, which must name the
// missing permission rather than a missing build.

import { parse } from '../../src/index.js';

try {
  parse('Subject: x\r\n\r\ny\r\n');
  console.log('parsed');
} catch (err) {
  console.log(err.message);
}
