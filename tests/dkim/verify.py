#!/usr/bin/env python3
"""Verifies DKIM signatures with dkimpy, an independent implementation.

Reads JSON from stdin: {"records": {"<selector>._domainkey.<domain>": "<TXT value>"},
"messages": ["<raw message>", ...]} and prints one line per message: "pass" or
"fail". DNS is answered from "records" through dkimpy's dnsfunc hook.
"""
import json
import sys

import dkim


def main() -> None:
    request = json.load(sys.stdin)
    records = {k.lower().rstrip("."): v for k, v in request["records"].items()}

    def dnsfunc(name, timeout=5):
        key = name.decode() if isinstance(name, bytes) else name
        value = records.get(key.lower().rstrip("."))
        return value.encode() if value is not None else None

    for raw in request["messages"]:
        ok = dkim.verify(raw.encode(), dnsfunc=dnsfunc)
        print("pass" if ok else "fail")


if __name__ == "__main__":
    main()
