#!/usr/bin/python3
"""A pymodbus (Debian python3-pymodbus 3.0.0rc1) server with known values, used as a third-party
peer by test/drivers/modbus/peers.test.ts.

    /usr/bin/python3 pymodbus_server.py --tcp 0            # TCP on a free port on 127.0.0.1
    /usr/bin/python3 pymodbus_server.py --rtu /dev/pts/7   # RTU on a serial line, 9600 8N2

It prints one line `READY {json}` on stdout once it serves (the JSON carries the TCP port and the
register layout) and exits when its stdin closes, so a dying test never leaves it behind.

The values are put in place with struct.pack, so the bytes the test expects do not depend on our
TypeScript codec. Both register tables (holding and input) carry the same layout.
"""
import argparse
import asyncio
import json
import logging
import os
import struct
import sys
import threading

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

# Values the test expects. Keep in step with EXPECTED in peers.test.ts.
U16 = 51234
I16 = -1234
U32 = 0x12345678
I32 = -123456789
F32 = -273.15

# Bits in the order of increasing address (17 of them, so a read crosses a byte boundary).
COILS = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1]
DISCRETE = [0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1]

ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]
TABLE_SIZE = 100


def arrange(big_endian: bytes, order: str) -> bytes:
    """Put the bytes A B C D (most significant first) in the wire order named by `order`."""
    position = {"A": 0, "B": 1, "C": 2, "D": 3}
    return bytes(big_endian[position[letter]] for letter in order)


def build_registers():
    registers = [0] * TABLE_SIZE
    layout = {"u16": 0, "i16": 1, "u32": {}, "i32": {}, "f32": {}, "scratch": 60}
    registers[0] = U16
    registers[1] = struct.unpack(">H", struct.pack(">h", I16))[0]
    packed = {
        "u32": struct.pack(">I", U32),
        "i32": struct.pack(">i", I32),
        "f32": struct.pack(">f", F32),
    }
    base = {"u32": 10, "i32": 20, "f32": 30}
    for kind, be in packed.items():
        for index, order in enumerate(ORDERS):
            address = base[kind] + 2 * index
            hi, lo = struct.unpack(">HH", arrange(be, order))
            registers[address] = hi
            registers[address + 1] = lo
            layout[kind][order] = address
    return registers, layout


async def serve(args) -> None:
    registers, layout = build_registers()
    # zero_mode: the address in the request is the index in the block, no "+1" shift.
    slave = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, DISCRETE + [0] * (TABLE_SIZE - len(DISCRETE))),
        co=ModbusSequentialDataBlock(0, COILS + [0] * (TABLE_SIZE - len(COILS))),
        hr=ModbusSequentialDataBlock(0, list(registers)),
        ir=ModbusSequentialDataBlock(0, list(registers)),
        zero_mode=True,
    )
    context = ModbusServerContext(slaves=slave, single=True)
    ready = {"layout": layout, "coils": COILS, "discrete": DISCRETE}
    if args.tcp is not None:
        server = await StartAsyncTcpServer(
            context=context,
            address=("127.0.0.1", args.tcp),
            framer=ModbusSocketFramer,
            defer_start=True,
        )
        task = asyncio.create_task(server.serve_forever())
        await server.serving
        ready["port"] = server.server.sockets[0].getsockname()[1]
    else:
        server = await StartAsyncSerialServer(
            context=context,
            framer=ModbusRtuFramer,
            port=args.rtu,
            baudrate=args.baud,
            bytesize=8,
            parity=args.parity,
            stopbits=args.stopbits,
            defer_start=True,
        )
        await server.start()
        task = asyncio.create_task(server.serve_forever())
    print("READY " + json.dumps(ready), flush=True)
    await task


def exit_when_stdin_closes() -> None:
    sys.stdin.buffer.read()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--tcp", type=int, help="TCP port on 127.0.0.1 (0: pick a free one)")
    group.add_argument("--rtu", help="serial device path")
    parser.add_argument("--baud", type=int, default=9600)
    # Linux pseudo-terminals refuse PARENB (pyserial's tcsetattr fails with EINVAL), so on a pty
    # pair the line is 8N2: the other 11-bit framing MSL v1.02 section 2.5.1 allows.
    parser.add_argument("--parity", choices=["N", "E", "O"], default="N")
    parser.add_argument("--stopbits", type=int, choices=[1, 2], default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
