#!/usr/bin/env python3
"""Sends per second through `host-demo serve`: 1, 2 and 3 replicas on one
PostgreSQL database, and one replica on SQLite. Not a test.

    cargo build -p guest --target wasm32-wasip2 --release
    cargo build --release -p host-demo
    python3 tests/bench/replicas.py [--messages 300] [--clients 8]

Starts its own PostgreSQL (Debian's postgresql package: initdb in a temporary
directory, pg_ctl on a free loopback port, as the postgres user when run as
root) and stops it at the end. Each configuration gets a fresh database (or
SQLite file), a verified setup and a use case, then `--clients` threads send
`--messages` new messages (no replies: independent sends) round robin over
the replicas; the rate is messages over wall time, the median of three
runs. The outbound queue is on (the default), so a send is acknowledged once
it is queued; the workers deliver into each replica's Maildir outbox
meanwhile, on the same CPUs.
"""

import argparse, glob, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target/release/host-demo")
ADMIN_KEY = "admin-key-of-the-replicas-bench"
# The platform table of every replica: the admin key (the bench acts for one
# workspace through it), posted DNS answers, no send rate limit to speak of.
PLATFORM = f'\n[platform]\nadmin-key = "{ADMIN_KEY}"\nposted-dns-answers = true\nsends-per-second = 100000\n'



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = os.path.dirname(bins[-1])
        self.dir = tempfile.mkdtemp(prefix="mailroom-bench-pg-")
        self.port = free_port()
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.run("initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "mailroom", "-E", "UTF8", "--no-sync")
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")
        self.databases = 0

    def run(self, prog, *args):
        cmd = [os.path.join(self.bin, prog), *args]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def database(self):
        self.databases += 1
        name = f"bench{self.databases}"
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "mailroom", "postgres",
                        "-c", f"CREATE DATABASE {name}"], check=True)
        return f"postgres://mailroom@127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def serve(workdir, n, settings):
    config = os.path.join(workdir, f"r{n}.toml")
    with open(config, "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ndata-dir = "{workdir}/r{n}"\n{settings}{PLATFORM}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_") or k == "MAILROOM_COMPONENT"}
    p = subprocess.Popen([BIN, "--config", config, "serve"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    for line in p.stderr:
        if line.startswith("listening on "):
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, line.split()[-1]
    sys.exit("serve did not start")


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                          "Authorization": f"Bearer {ADMIN_KEY}",
                                                                          "X-Mailroom-Workspace": "ws"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def use_case(base, domain):
    status, setup = call("POST", f"{base}/setups", {"domain": domain})
    assert status == 201, setup
    grouped = {}
    for r in setup["records"]:
        if r["type"] == "txt":
            item = [r["value"][i:i + 255] for i in range(0, len(r["value"]), 255)]
        else:
            pref, exch = r["value"].split(" ", 1)
            item = {"preference": int(pref), "exchange": exch}
        grouped.setdefault((r["name"], r["type"]), []).append(item)
    answers = [{"name": n, "type": t, "result": {t: items}} for (n, t), items in grouped.items()]
    status, v = call("POST", f"{base}/setups/{setup['id']}/verify", {"answers": answers})
    assert status == 200 and v["setup"]["status"] == "verified", v
    status, uc = call("POST", f"{base}/use-cases", {"setup": setup["id"], "sender": f"care@{domain}",
                                                   "type": "transactional", "entity-name": "Clinic",
                                                   "use-case-name": "Care"})
    assert status == 201, uc
    return uc["id"]


def measure(bases, uc, messages, clients):
    counter = iter(range(messages))
    lock = threading.Lock()
    errors = []

    def client(k):
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            status, answer = call("POST", f"{bases[(i + k) % len(bases)]}/messages",
                                  {"use-case": uc, "to": [{"address": f"p{i}@patient.example"}],
                                   "subject": "Your appointment", "text": "See you on Friday.\r\n"})
            if status != 201:
                errors.append((status, answer))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert not errors, errors[:3]
    return messages / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    pg = Postgres()
    rows = []
    try:
        configs = [("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 3)]
        for store, replicas in configs:
            rates = []
            for run in range(args.runs):
                work = tempfile.mkdtemp(prefix="mailroom-bench-")
                settings = 'store = "sqlite"\n'
                if store == "postgres":
                    settings = f'store = "postgres"\npostgres-url = "{pg.database()}"\n'
                else:
                    # One SQLite file serves one process only.
                    pass
                procs = [serve(work, n, settings) for n in range(replicas)]
                try:
                    bases = [b for _, b in procs]
                    uc = use_case(bases[0], f"bench{run}.example")
                    rates.append(measure(bases, uc, args.messages, args.clients))
                finally:
                    for p, _ in procs:
                        p.kill()
                        p.wait()
                    shutil.rmtree(work, ignore_errors=True)
            rows.append((store, replicas, statistics.median(rates), rates))
            print(f"{store:8} {replicas} replica(s): {statistics.median(rates):7.1f} sends/s "
                  f"(runs: {', '.join(f'{r:.1f}' for r in rates)})", flush=True)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
