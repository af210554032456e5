"""A plain TCP relay in its own process: ``python tests/relay.py PORT TARGET_HOST TARGET_PORT``.

The tests of several Rasa servers put one in front of the one real Rasa server, so that a
"server" can go away mid-run (the relay is killed with SIGKILL: open connections break,
new ones are refused) while every answer the bot gets is a real Rasa answer. Starting a second
real Rasa would cost 1.3 GB and a minute of CPU for the same behaviour seen by the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


async def main(port: int, host: str, target_port: int) -> None:
    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
