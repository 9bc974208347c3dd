#!/usr/bin/python3
"""counter.py: a deterministic, single-threaded checkpoint target.

Usage: counter.py [rounds] [--thread | --child]

Runs a SHA-256 hash chain and folds each digest into a table of Python ints,
printing a progress line every so often. With --thread the work runs in a
second thread, with --child a child process sleeps beside it: both are kinds
of process a checkpoint must refuse in this step.
"""
import hashlib
import os
import sys
import threading
import time

DEFAULT_ROUNDS = 5_400_000
ROUNDS_PER_LINE = 108_000
TABLE_SIZE = 997


def work(rounds):
    digest = b"cpr counter"
    table = [0] * TABLE_SIZE
    for i in range(1, rounds + 1):
        digest = hashlib.sha256(digest).digest()
        table[i % TABLE_SIZE] ^= int.from_bytes(digest[:8], "little")
        if i % ROUNDS_PER_LINE == 0 or i == rounds:
            print(f"round {i} digest {digest.hex()[:16]} table {sum(table) % 1_000_000_007}",
                  flush=True)
    print(f"final {digest.hex()}", flush=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = int(args[0]) if args else DEFAULT_ROUNDS
    if "--child" in sys.argv:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    if "--thread" in sys.argv:
        worker = threading.Thread(target=work, args=(rounds,))
        worker.start()
        worker.join()
    else:
        work(rounds)


if __name__ == "__main__":
    main()
