#!/usr/bin/env python3
"""The generated half of the benchmark corpus (the other half is
tests/fixtures/inbound/*.eml).

    python3 tests/bench/gen_corpus.py [--out target/bench-corpus] [--seed 20260301]

Writes realistic messages of four kinds, deterministically from the seed
(random.Random only, no clock), into the output directory, which is emptied
first. Never committed: target/ is ignored.

  plain-reply-NN.eml       text/plain replies with quoted history (2-12 KB)
  newsletter-NN.eml        multipart/alternative text + quoted-printable HTML
                           inside multipart/related with two cid: images
                           (60-160 KB)
  apple-reply-NN.eml       Apple Mail's alternative > mixed(html, 2 MB PDF,
                           html) with the attachment base64-encoded
  forward-NN.eml           a forward: text plus a message/rfc822 holding a
                           message with a 150-400 KB attachment
"""

from __future__ import annotations

import argparse
import base64
import quopri
import random
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRLF = "\r\n"

WORDS = (
    "the appointment schedule invoice please confirm thanks regards team customer "
    "order shipment delivery tomorrow friday monday update account billing plan "
    "report attached review meeting agenda notes question answer support ticket "
    "follow-up reminder payment receipt balance clinic patient care renewal offer "
    "newsletter weekly digest product feature release improvement performance "
    "security privacy policy terms service hello hi dear best kind wishes"
).split()
UNICODE = ["café", "naïve", "Grüße", "façade", "résumé", "jalapeño", "Zürich", "€20", "—"]
NAMES = ["Alice Martin", "Bob Okafor", "Chloé Dubois", "Dmitri Ivanov", "Eva Lindqvist",
         "Farah Haddad", "Gustavo Lima", "Hana Sato", "Ines Moreau", "Jamal Wright"]
DOMAINS = ["example.com", "mail.example.org", "clinic.example", "shop.example.net"]


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.n = 0

    def words(self, n: int, uni: float = 0.0) -> str:
        out = []
        for _ in range(n):
            out.append(self.r.choice(UNICODE) if uni and self.r.random() < uni else self.r.choice(WORDS))
        return " ".join(out)

    def paragraph(self, uni: float = 0.0) -> str:
        s = self.words(self.r.randint(20, 60), uni)
        return s[0].upper() + s[1:] + "."

    def wrap(self, text: str, width: int = 72, prefix: str = "") -> list[str]:
        lines, line = [], ""
        for w in text.split():
            if line and len(line) + 1 + len(w) > width:
                lines.append(prefix + line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        if line:
            lines.append(prefix + line)
        return lines

    def person(self) -> tuple[str, str]:
        name = self.r.choice(NAMES)
        local = name.split()[0].lower().replace("é", "e")
        return name, f"{local}@{self.r.choice(DOMAINS)}"

    def msgid(self) -> str:
        self.n += 1
        return f"<{self.r.getrandbits(64):016x}.{self.n}@{self.r.choice(DOMAINS)}>"

    def date(self) -> str:
        day = self.r.randint(1, 28)
        h, m, s = self.r.randint(0, 23), self.r.randint(0, 59), self.r.randint(0, 59)
        return f"Mon, {day:02d} Feb 2026 {h:02d}:{m:02d}:{s:02d} +0100"

    def boundary(self) -> str:
        return f"Apple-Mail={self.r.getrandbits(96):024X}"

    def headers(self, subject: str, extra: list[str] | None = None) -> list[str]:
        (fn, fa), (tn, ta) = self.person(), self.person()
        h = [
            f"From: {fn} <{fa}>",
            f"To: {tn} <{ta}>",
            f"Subject: {subject}",
            f"Date: {self.date()}",
            f"Message-ID: {self.msgid()}",
            "MIME-Version: 1.0",
        ]
        return h + (extra or [])

    def b64(self, data: bytes) -> list[str]:
        enc = base64.b64encode(data).decode()
        return [enc[i:i + 76] for i in range(0, len(enc), 76)]

    def qp(self, text: str) -> list[str]:
        return quopri.encodestring(text.encode("utf-8")).decode().replace("\r\n", "\n").split("\n")

    def fake_pdf(self, size: int) -> bytes:
        # A PDF header, then incompressible bytes: what a scanned PDF looks like.
        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        return head + self.r.randbytes(size - len(head))

    def fake_png(self, size: int) -> bytes:
        return b"\x89PNG\r\n\x1a\n" + self.r.randbytes(size - 8)


def plain_reply(g: Gen) -> str:
    parent = g.msgid()
    refs = " ".join(g.msgid() for _ in range(g.r.randint(0, 6))) + " " + parent
    h = g.headers(f"Re: {g.words(5)}", [
        f"In-Reply-To: {parent}",
        f"References: {refs.strip()}",
        "Content-Type: text/plain; charset=utf-8; format=flowed",
        "Content-Transfer-Encoding: 8bit",
    ])
    body: list[str] = []
    for _ in range(g.r.randint(1, 3)):
        body += g.wrap(g.paragraph(0.03)) + [""]
    body += ["Best,", g.r.choice(NAMES), ""]
    for depth in range(1, g.r.randint(2, 4)):
        body.append(f"{'>' * (depth - 1)}{' ' if depth > 1 else ''}On {g.date()}, {g.r.choice(NAMES)} wrote:")
        for _ in range(g.r.randint(2, 6)):
            body += g.wrap(g.paragraph(0.02), prefix="> " * depth) + ["> " * depth]
    return CRLF.join(h + [""] + body) + CRLF


def newsletter(g: Gen) -> str:
    outer, alt = g.boundary(), g.boundary()
    h = g.headers(f"Weekly digest: {g.words(4)}", [
        "List-Unsubscribe: <mailto:unsubscribe@news.example.com>",
        "Precedence: bulk",
        f'Content-Type: multipart/related; type="multipart/alternative"; boundary="{outer}"',
    ])
    articles = [(g.words(6), [g.paragraph(0.02) for _ in range(g.r.randint(2, 5))])
                for _ in range(g.r.randint(12, 30))]
    text = []
    for title, paras in articles:
        text += [title.upper(), ""]
        for p in paras:
            text += g.wrap(p) + [""]
    html = ['<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
            "body{font-family:Helvetica,Arial,sans-serif;margin:0}td{padding:12px}"
            ".h{font-size:20px;color:#222}</style></head><body>",
            '<table width="100%" cellpadding="0" cellspacing="0"><tr><td>'
            '<img src="cid:logo@news.example.com" alt="logo" width="120"></td></tr>']
    for i, (title, paras) in enumerate(articles):
        html.append(f'<tr><td class="h"><a href="https://news.example.com/a/{i}?utm_source=mail">{title}</a></td></tr>')
        for p in paras:
            html.append(f'<tr><td style="color:#444;line-height:1.5">{p}</td></tr>')
    html.append('<tr><td><img src="cid:banner@news.example.com" alt=""></td></tr></table></body></html>')
    parts = [
        f"--{outer}",
        f'Content-Type: multipart/alternative; boundary="{alt}"',
        "",
        f"--{alt}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        *g.qp("\n".join(text)),
        f"--{alt}",
        "Content-Type: text/html; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        *g.qp("\n".join(html)),
        f"--{alt}--",
        "",
    ]
    for cid, size in (("logo", 8_000), ("banner", g.r.randint(20_000, 60_000))):
        parts += [
            f"--{outer}",
            "Content-Type: image/png",
            "Content-Transfer-Encoding: base64",
            f"Content-ID: <{cid}@news.example.com>",
            "Content-Disposition: inline",
            "",
            *g.b64(g.fake_png(size)),
        ]
    parts.append(f"--{outer}--")
    return CRLF.join(h + [""] + parts) + CRLF


def apple_reply(g: Gen) -> str:
    alt, mixed = g.boundary(), g.boundary()
    parent = g.msgid()
    h = g.headers(f"Re: {g.words(4)}", [
        f"In-Reply-To: {parent}",
        f"References: {parent}",
        "X-Mailer: Apple Mail (2.3774.300.61.1.2)",
        f'Content-Type: multipart/alternative; boundary="{alt}"',
    ])
    intro = [g.paragraph(0.02) for _ in range(2)]
    outro = [g.paragraph(0.02)]
    name = f"Scan {g.r.randint(1, 999):03d}.pdf"
    parts = [
        f"--{alt}",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Type: text/plain; charset=utf-8",
        "",
        *g.qp("\n\n".join(intro + [f"[{name}]"] + outro)),
        f"--{alt}",
        f'Content-Type: multipart/mixed; boundary="{mixed}"',
        "",
        f"--{mixed}",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Type: text/html; charset=utf-8",
        "",
        *g.qp('<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
              '<body style="overflow-wrap: break-word;">' + "".join(f"<div>{p}</div>" for p in intro)
              + "</body></html>"),
        f"--{mixed}",
        "Content-Disposition: inline; filename=\"" + name + "\"",
        f'Content-Type: application/pdf; x-unix-mode=0644; name="{name}"',
        "Content-Transfer-Encoding: base64",
        "",
        *g.b64(g.fake_pdf(2 * 1024 * 1024)),
        f"--{mixed}",
        "Content-Transfer-Encoding: 7bit",
        "Content-Type: text/html; charset=us-ascii",
        "",
        "<html><body>" + "".join(f"<div>{p}</div>" for p in outro) + "</body></html>",
        f"--{mixed}--",
        "",
        f"--{alt}--",
    ]
    return CRLF.join(h + [""] + parts) + CRLF


def forward(g: Gen) -> str:
    outer, inner = g.boundary(), g.boundary()
    inner_subject = g.words(5)
    inner_msg = g.headers(inner_subject, [f'Content-Type: multipart/mixed; boundary="{inner}"']) + [
        "",
        f"--{inner}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        *sum((g.wrap(g.paragraph()) + [""] for _ in range(g.r.randint(2, 5))), []),
        f"--{inner}",
        f'Content-Type: application/pdf; name="invoice-{g.r.randint(1000, 9999)}.pdf"',
        "Content-Disposition: attachment",
        "Content-Transfer-Encoding: base64",
        "",
        *g.b64(g.fake_pdf(g.r.randint(150_000, 400_000))),
        f"--{inner}--",
    ]
    h = g.headers(f"Fwd: {inner_subject}", [f'Content-Type: multipart/mixed; boundary="{outer}"'])
    parts = [
        f"--{outer}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        *g.wrap(g.paragraph()),
        "",
        f"--{outer}",
        "Content-Type: message/rfc822",
        "Content-Disposition: inline",
        "",
        *inner_msg,
        f"--{outer}--",
    ]
    return CRLF.join(h + [""] + parts) + CRLF


KINDS = [("plain-reply", plain_reply, 24), ("newsletter", newsletter, 10),
         ("apple-reply", apple_reply, 4), ("forward", forward, 8)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "target" / "bench-corpus")
    ap.add_argument("--seed", type=int, default=20260301)
    args = ap.parse_args()
    g = Gen(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    total = 0
    for kind, make, count in KINDS:
        for i in range(count):
            data = make(g).encode("utf-8")
            (args.out / f"{kind}-{i + 1:02d}.eml").write_bytes(data)
            total += len(data)
    n = sum(c for _, _, c in KINDS)
    print(f"bench corpus: {n} messages, {total / 1e6:.1f} MB in {args.out} (seed {args.seed})")


if __name__ == "__main__":
    main()
