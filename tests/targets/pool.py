# pool.py [CONTEXT]: a multiprocessing pool of 3 workers (fork, forkserver or
# spawn) hashing 120 numbers, 50 ms each; prints its progress and the total
# (issue 16: pipes, unix sockets and semaphores between the workers).
import multiprocessing as mp, time, hashlib, sys
def work(i):
    time.sleep(0.05)
    return int(hashlib.sha256(str(i).encode()).hexdigest()[:8], 16) % 1000
if __name__ == "__main__":
    with mp.get_context(sys.argv[1] if len(sys.argv) > 1 else "fork").Pool(3) as pool:
        total = 0
        for n, r in enumerate(pool.imap(work, range(120), chunksize=2)):
            total += r
            if n % 20 == 0:
                print("progress", n, total, flush=True)
    print("total", total, flush=True)
