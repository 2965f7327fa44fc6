// The WASI 0.2 imports of the mailroom component, by hand: what `npx jco wit
// dist/mailroom.core.wasm`'s world imports besides mailroom:channel/*, and
// no more. Rust's std links them; the component's own code uses only the
// clocks and random. So:
//
// - wasi:clocks/wall-clock, monotonic-clock: Date.now() and performance.now().
// - wasi:random/random, insecure-seed: crypto.getRandomValues (Web Crypto,
//   global in every supported runtime).
// - wasi:cli/environment: no variables, no arguments, no cwd, so no answer
//   can depend on the host's environment, and nothing of it is read.
// - wasi:cli/exit: throws instead of ending the host process.
// - wasi:cli/stdin, stdout, stderr: stdin is empty; stdout and stderr go to
//   console.log / console.error, one call per line (a panic message, if the
//   component ever panicked, is not lost).
// - wasi:cli/terminal-*: not a terminal.
// - wasi:io/poll, error, streams: the resources those need, with exactly the
//   methods the generated glue calls (Pollable.block, OutputStream
//   checkWrite/write/blockingFlush/subscribe, InputStream reads).
//
// Replaces @bytecodealliance/preview2-shim, which reads the whole
// environment at import (Deno then needs --allow-env) and brings a prebuilt
// native module (jco-node-fs) the package never loads.

class WasiError {
  constructor(message) {
    this.message = message;
  }
  toDebugString() {
    return this.message;
  }
}

class Pollable {
  ready() {
    return true;
  }
  block() {}
}

function poll(list) {
  return Uint32Array.from(list, (_, i) => i);
}

class InputStream {
  read() {
    throw { tag: 'closed' };
  }
  blockingRead() {
    throw { tag: 'closed' };
  }
  skip() {
    throw { tag: 'closed' };
  }
  blockingSkip() {
    throw { tag: 'closed' };
  }
  subscribe() {
    return new Pollable();
  }
}

const decoder = new TextDecoder();

/** An output stream that hands complete lines to `sink` (console.log / console.error). */
class OutputStream {
  constructor(sink) {
    this.sink = sink;
    this.pending = '';
  }
  checkWrite() {
    return 65536n;
  }
  write(bytes) {
    this.pending += decoder.decode(bytes, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop();
    for (const line of lines) this.sink(line);
  }
  blockingWriteAndFlush(bytes) {
    this.write(bytes);
    this.flush();
  }
  flush() {
    if (this.pending !== '') {
      this.sink(this.pending);
      this.pending = '';
    }
  }
  blockingFlush() {
    this.flush();
  }
  subscribe() {
    return new Pollable();
  }
}

class TerminalInput {}
class TerminalOutput {}

const stdin = new InputStream();
const stdout = new OutputStream((line) => console.log(line));
const stderr = new OutputStream((line) => console.error(line));

function randomBytes(len) {
  const n = Number(len);
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65536 bytes a call.
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

function randomU64() {
  const b = randomBytes(8);
  return new DataView(b.buffer).getBigUint64(0, true);
}

const origin = performance.now();

/** Every import, keyed `wasi:PACKAGE/INTERFACE` as jco's instantiate takes them. */
export const wasiImports = {
  'wasi:cli/environment': {
    getEnvironment: () => [],
    getArguments: () => [],
    initialCwd: () => undefined,
  },
  'wasi:cli/exit': {
    exit() {
      throw new Error('the mailroom component called wasi:cli/exit');
    },
  },
  'wasi:cli/stdin': { getStdin: () => stdin },
  'wasi:cli/stdout': { getStdout: () => stdout },
  'wasi:cli/stderr': { getStderr: () => stderr },
  'wasi:cli/terminal-input': { TerminalInput },
  'wasi:cli/terminal-output': { TerminalOutput },
  'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
  'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
  'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
  'wasi:clocks/monotonic-clock': {
    now: () => BigInt(Math.round((performance.now() - origin) * 1e6)),
    resolution: () => 1000n,
    subscribeInstant: () => new Pollable(),
    subscribeDuration: () => new Pollable(),
  },
  'wasi:clocks/wall-clock': {
    now() {
      const ms = Date.now();
      return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 };
    },
    resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
  },
  'wasi:io/error': { Error: WasiError },
  'wasi:io/poll': { Pollable, poll },
  'wasi:io/streams': { InputStream, OutputStream },
  'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
  'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
  'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
};
