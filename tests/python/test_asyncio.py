"""Event loops: an asyncio consumer that waits on ring.fileno() (fr_fd) with
loop.add_reader, never in a blocking acquire. A producer thread publishes
with random pauses, then closes (end of stream). Every frame must arrive in
order, and no wait may run into its bound while work was pending: each
readiness callback drains with acquire(timeout=0) until TimeoutError, which
re-arms the fd."""
import asyncio
import random
import threading
import time

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402

FRAMES = 3000
BOUND_S = 10.0  # no pause is longer than 20 ms: a wait this long is a lost wake-up


def produce(name, seed):
    rnd = random.Random(seed)
    cam = fr.open(name, "producer")
    for i in range(FRAMES):
        with cam.claim(timeout=BOUND_S) as frame:
            frame.array[0] = i & 0xFF
            frame.array[1] = i >> 8
        if rnd.random() < 0.01:
            time.sleep(rnd.random() * 0.02)
    cam.close()  # the last producer of a stream that published: the end


@pytest.mark.parametrize("mode", ["spsc", "mpmc", "broadcast"])
def test_asyncio_consumer_on_fileno(name, mode):
    creator = fr.create(name, format="raw", frame_bytes=64, slots=4, mode=mode)
    rx = fr.open(name, "consumer")
    creator.close()  # made ahead of its camera: ends nothing
    fd = rx.fileno()
    assert fd >= 0 and rx.fileno() == fd

    async def consume():
        loop = asyncio.get_running_loop()
        got = []
        done = loop.create_future()

        def ready():
            while True:  # the contract: drain until TimeoutError
                try:
                    with rx.acquire(timeout=0) as frame:
                        got.append(int(frame.array[0]) | int(frame.array[1]) << 8)
                except TimeoutError:
                    return
                except fr.EndOfStream:
                    loop.remove_reader(fd)
                    if not done.done():
                        done.set_result(None)
                    return

        loop.add_reader(fd, ready)
        producer = threading.Thread(target=produce, args=(name, 7), daemon=True)
        producer.start()
        await asyncio.wait_for(done, timeout=60)
        producer.join(BOUND_S)
        return got

    got = asyncio.run(consume())
    assert got == list(range(FRAMES))
    rx.close()
