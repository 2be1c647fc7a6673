"""Third-party Python SAM clients (from PyPI, unmodified) against our router's SAM bridge.

Run by e2e/tests/sam_clients.rs inside the test's network namespace:

    python sam_clients.py i2plib SAM_PORT EEPSITE_B32 OUT_DIR NONCE
    python sam_clients.py i2psam SAM_PORT EEPSITE_B32 OUT_DIR

Every line meant for the Rust side starts with a capitalised word: FIGURE NAME SECONDS, INFO ...,
READY B32 (i2plib: our stream_accept loop is waiting), SERVED ... (one per answered
request), DONE. i2plib keeps its session until OUT_DIR/i2plib.stop exists. A failure prints a
traceback and exits non-zero. The raw HTTP response of each eepsite fetch is written to
OUT_DIR/<client>-eepsite.http for the Rust side to check.

Only the Python >= 3.10 workarounds documented in ../shared/testnet/README.md are applied, at run
time: i2plib passes `loop=` to asyncio.open_connection (removed in 3.10), and i2psam hands its
pydantic IP address object to asyncio instead of a string.
"""

import asyncio
import os
import sys
import time
import traceback
import types

TIMEOUT = 240


def say(*parts):
    print(*parts, flush=True)


def request(host):
    return f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: sam-clients-e2e\r\n\r\n".encode()


async def read_all(reader):
    data = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return data
        data += chunk


def save(out_dir, name, data):
    with open(f"{out_dir}/{name}", "wb") as f:
        f.write(data)
    first = data.split(b"\r\n", 1)[0].decode(errors="replace")
    say("INFO", f"{name}: {len(data)} bytes, status line {first!r}")


# ------------------------------------------------------------------------------------ i2plib
def i2plib_without_loop_argument():
    """i2plib.aiosam calls asyncio.open_connection(..., loop=loop); Python 3.10 dropped that
    argument. Give the module an asyncio look-alike whose open_connection ignores it."""
    import i2plib.aiosam as aiosam

    async def open_connection(*args, loop=None, **kwargs):
        return await asyncio.open_connection(*args, **kwargs)

    shim = types.SimpleNamespace(
        **{k: getattr(asyncio, k) for k in dir(asyncio) if not k.startswith("__")}
    )
    shim.open_connection = open_connection
    aiosam.asyncio = shim


async def i2plib_flow(sam, target, out_dir, nonce):
    import i2plib
    from importlib.metadata import version

    say("INFO", f"i2plib {version('i2plib')} on python {sys.version.split()[0]}")
    i2plib_without_loop_argument()

    name = "pylib"
    dest = await i2plib.new_destination(sam_address=sam)
    me = dest.base32 + ".b32.i2p"
    say("INFO", f"new destination {me}")

    t = time.monotonic()
    _ctl_reader, ctl_writer = await i2plib.create_session(name, sam_address=sam, destination=dest)
    say("FIGURE", "session_create", f"{time.monotonic() - t:.2f}")

    # stream_connect looks the .b32.i2p up (NAMING LOOKUP) and then connects to the base64
    t = time.monotonic()
    reader, writer = await i2plib.stream_connect(name, target, sam_address=sam)
    say("FIGURE", "stream_connect", f"{time.monotonic() - t:.2f}")
    writer.write(request(target))
    await writer.drain()
    save(out_dir, "i2plib-eepsite.http", await read_all(reader))
    say("FIGURE", "fetch", f"{time.monotonic() - t:.2f}")
    writer.close()

    # serve HTTP over the streams that arrive on our session, whoever sends them; the session
    # (and with it every stream) lives until the Rust side creates OUT_DIR/i2plib.stop
    say("READY", me)
    server = asyncio.ensure_future(serve(i2plib, name, sam, nonce))
    stop = os.path.join(out_dir, "i2plib.stop")
    while not os.path.exists(stop):
        if server.done():
            server.result()  # raises what ended the server
            raise RuntimeError("the stream_accept loop ended")
        await asyncio.sleep(0.2)
    server.cancel()
    ctl_writer.close()


async def serve(i2plib, name, sam, nonce):
    while True:
        reader, writer = await i2plib.stream_accept(name, sam_address=sam)
        # SILENT=false: the first line names the remote destination
        peer = (await reader.readline()).decode(errors="replace").strip()
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = await reader.read(4096)
            if not chunk:
                break
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if not line.startswith("GET "):
            say("INFO", f"accepted a stream without a GET ({line!r})")
            writer.close()
            continue
        body = f"answered through i2plib stream_accept, nonce {nonce}\n".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()
        try:
            peer_b32 = i2plib.Destination(peer.split(" ")[0]).base32 + ".b32.i2p"
        except Exception as e:  # noqa: BLE001 - reported, then checked by the Rust side
            peer_b32 = f"unparsable ({e})"
        say("SERVED", f"peer={peer_b32}", f"request={line!r}")


# ------------------------------------------------------------------------------------ i2psam
async def i2psam_flow(sam, target, out_dir):
    from i2psam import SAMClient, SAMConfig
    from importlib.metadata import version

    say("INFO", f"i2psam {version('i2psam')} (pydantic {version('pydantic')}) on python "
        f"{sys.version.split()[0]}")
    host, port = sam
    cfg = SAMConfig(host=host, port=port, udp_port=port - 1, connection_timeout=TIMEOUT,
                    connection_retries=0)
    # the workaround: SAMConfig.host validates into an IPv4Address object, which
    # asyncio.open_connection cannot use; model_copy(update=...) keeps the plain string
    cfg = cfg.model_copy(update={"host": host})
    client = SAMClient(cfg)

    t = time.monotonic()
    async with client.session("pysam", "TRANSIENT") as session:
        say("FIGURE", "session_create", f"{time.monotonic() - t:.2f}")
        t = time.monotonic()
        async with session.connect_stream(target) as conn:
            say("FIGURE", "stream_connect", f"{time.monotonic() - t:.2f}")
            conn.writer.write(request(target))
            await conn.writer.drain()
            save(out_dir, "i2psam-eepsite.http", await read_all(conn.reader))
            say("FIGURE", "fetch", f"{time.monotonic() - t:.2f}")
        reply = await client.naming_lookup(target)
        say("INFO", f"NAMING LOOKUP {target}: result {reply.result}, "
            f"{len(reply.value or '')} characters of destination")
        if not reply.is_ok or not reply.value:
            raise RuntimeError(f"naming lookup of {target} failed: {reply}")


def main():
    mode, port, target, out_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sam = ("127.0.0.1", port)
    if mode == "i2plib":
        flow = i2plib_flow(sam, target, out_dir, sys.argv[5])
    elif mode == "i2psam":
        flow = i2psam_flow(sam, target, out_dir)
    else:
        raise SystemExit(f"unknown mode {mode}")
    try:
        asyncio.run(asyncio.wait_for(flow, TIMEOUT * 2))
    except BaseException:
        traceback.print_exc()
        say("FAILED")
        sys.stdout.flush()
        raise SystemExit(1)
    say("DONE")


if __name__ == "__main__":
    main()
