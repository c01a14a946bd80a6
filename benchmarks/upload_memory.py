"""Server memory around concurrent large uploads: RSS of a live ``painterly serve`` before, at
its peak during, and after N concurrent uploads of a small PNG that decodes to many pixels (a
decompression-bomb-ish file just under the server's pixel limit), then again for one over it.

    PYTHONPATH=. nice -n 15 python benchmarks/upload_memory.py --uploads 4 --megapixels 49
"""

from __future__ import annotations

import argparse
import io
import math
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from live_server import live_server
from PIL import Image


def bomb_png(megapixels: float) -> bytes:
    side = int(math.sqrt(megapixels * 1_000_000))
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 120, 40)).save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


def post(url: str, data: bytes) -> int:
    request = urllib.request.Request(url + "/api/uploads?name=bomb.png", data=data,
                                     headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=4, help="concurrent uploads")
    parser.add_argument("--megapixels", type=float, default=49)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = bomb_png(args.megapixels)
    over = bomb_png(81)
    print(f"file: {len(data) / 1024:.0f} kB decoding to {args.megapixels:g} megapixels")
    with live_server(nice=15) as server:
        print(f"idle: RSS {server.rss_mib():.0f} MiB")
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            with ThreadPoolExecutor(args.uploads) as pool:
                codes = list(pool.map(lambda _: post(server.url, data), range(args.uploads)))
            time.sleep(1)
            print(f"round {number}: {args.uploads} concurrent uploads -> {codes} in "
                  f"{time.perf_counter() - started:.1f} s; RSS after {server.rss_mib():.0f} MiB, "
                  f"peak so far {server.peak_rss_mib():.0f} MiB")
        with ThreadPoolExecutor(args.uploads) as pool:
            codes = list(pool.map(lambda _: post(server.url, over), range(args.uploads)))
        print(f"{args.uploads} uploads of {len(over) / 1024:.0f} kB decoding to 81 megapixels "
              f"-> {codes}; RSS after {server.rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
