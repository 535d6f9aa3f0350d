/**
 * PDU codec, both directions, byte by byte. The examples are the worked examples of the Modbus
 * Application Protocol Specification v1.1b3 (MAP), section 6.x for each function and section 7
 * for exceptions, so the bytes come from the spec, not from our encoder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RequestRejection,
  decodeRequest,
  decodeResponse,
  encodeException,
  encodeRequest,
  encodeResponse,
  packBits,
  requestLengthFromHeader,
  responseLengthFromHeader,
  unpackBits,
  type ModbusRequest,
} from '../../../drivers/modbus/pdu.js';
import { ModbusError, isModbusError, type ModbusErrorCode } from '../../../drivers/modbus/errors.js';
import { hex } from '../hex.js';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

function assertModbusError(fn: () => unknown, code: ModbusErrorCode, pattern?: RegExp): ModbusError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(isModbusError(caught), `expected a ModbusError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

/** One function's worked example: the request, the server's data, and the response. */
interface Example {
  name: string;
  req: ModbusRequest;
  request: Buffer;
  data?: { bits?: boolean[]; registers?: number[] };
  response: Buffer;
  decoded: ReturnType<typeof decodeResponse>;
}

const [T, F] = [true, false];
// Coils 20..38 of MAP 6.1, spelled out from the spec's bytes (first coil in bit 0):
// CD = 1100 1101 -> coils 20..27; 6B = 0110 1011 -> coils 28..35; 05 = 0000 0101 -> coils 36..38.
const COILS_20_38 = [T, F, T, T, F, F, T, T, /**/ T, T, F, T, F, T, T, F, /**/ T, F, T];
// Inputs 197..218 of MAP 6.2: AC = 1010 1100, DB = 1101 1011, 35 = 0011 0101.
const INPUTS_197_218 = [F, F, T, T, F, T, F, T, /**/ T, T, F, T, T, F, T, T, /**/ T, F, T, F, T, T];
// Coils 20..29 of MAP 6.11: CD 01 = 1 0 1 1 0 0 1 1 | 1 0 (first coil in bit 0).
const COILS_20_29 = [true, false, true, true, false, false, true, true, true, false];

const EXAMPLES: Example[] = [
  {
    name: 'FC01 read coils 20-38 (MAP 6.1)',
    req: { fc: 0x01, address: 0x0013, quantity: 19 },
    request: hex(
      '01', // function: read coils
      '00 13', // starting address 19 (coil 20 in 1-based numbering)
      '00 13', // quantity of coils 19
    ),
    data: { bits: COILS_20_38 },
    response: hex(
      '01', // function
      '03', // byte count: ceil(19 / 8)
      'cd', // coils 27..20
      '6b', // coils 35..28
      '05', // coils 38..36, high bits padded with zeros
    ),
    decoded: { fc: 0x01, bits: COILS_20_38 },
  },
  {
    name: 'FC02 read discrete inputs 197-218 (MAP 6.2)',
    req: { fc: 0x02, address: 0x00c4, quantity: 22 },
    request: hex(
      '02', // function: read discrete inputs
      '00 c4', // starting address 196
      '00 16', // quantity of inputs 22
    ),
    data: { bits: INPUTS_197_218 },
    response: hex(
      '02', // function
      '03', // byte count
      'ac', // inputs 204..197
      'db', // inputs 212..205
      '35', // inputs 218..213
    ),
    decoded: { fc: 0x02, bits: INPUTS_197_218 },
  },
  {
    name: 'FC03 read holding registers 108-110 (MAP 6.3)',
    req: { fc: 0x03, address: 0x006b, quantity: 3 },
    request: hex(
      '03', // function: read holding registers
      '00 6b', // starting address 107
      '00 03', // quantity of registers 3
    ),
    data: { registers: [555, 0, 100] },
    response: hex(
      '03', // function
      '06', // byte count: 3 registers x 2
      '02 2b', // register 108 = 555
      '00 00', // register 109 = 0
      '00 64', // register 110 = 100
    ),
    decoded: { fc: 0x03, registers: [555, 0, 100] },
  },
  {
    name: 'FC04 read input register 9 (MAP 6.4)',
    req: { fc: 0x04, address: 0x0008, quantity: 1 },
    request: hex(
      '04', // function: read input registers
      '00 08', // starting address 8
      '00 01', // quantity 1
    ),
    data: { registers: [10] },
    response: hex(
      '04', // function
      '02', // byte count
      '00 0a', // register 9 = 10
    ),
    decoded: { fc: 0x04, registers: [10] },
  },
  {
    name: 'FC05 write single coil 173 ON (MAP 6.5)',
    req: { fc: 0x05, address: 0x00ac, value: true },
    request: hex(
      '05', // function: write single coil
      '00 ac', // output address 172
      'ff 00', // ON (OFF would be 00 00)
    ),
    response: hex(
      '05', // the normal response is an echo of the request
      '00 ac',
      'ff 00',
    ),
    decoded: { fc: 0x05, address: 0x00ac, value: true },
  },
  {
    name: 'FC06 write single register 2 = 3 (MAP 6.6)',
    req: { fc: 0x06, address: 0x0001, value: 0x0003 },
    request: hex(
      '06', // function: write single register
      '00 01', // register address 1
      '00 03', // value 3
    ),
    response: hex(
      '06', // echo
      '00 01',
      '00 03',
    ),
    decoded: { fc: 0x06, address: 1, value: 3 },
  },
  {
    name: 'FC15 write multiple coils 20-29 (MAP 6.11)',
    req: { fc: 0x0f, address: 0x0013, values: COILS_20_29 },
    request: hex(
      '0f', // function: write multiple coils
      '00 13', // starting address 19
      '00 0a', // quantity of outputs 10
      '02', // byte count
      'cd', // outputs 27..20
      '01', // outputs 29..28
    ),
    response: hex(
      '0f', // function
      '00 13', // starting address
      '00 0a', // quantity of outputs
    ),
    decoded: { fc: 0x0f, address: 0x13, quantity: 10 },
  },
  {
    name: 'FC16 write multiple registers 2-3 (MAP 6.12)',
    req: { fc: 0x10, address: 0x0001, values: [0x000a, 0x0102] },
    request: hex(
      '10', // function: write multiple registers
      '00 01', // starting address 1
      '00 02', // quantity of registers 2
      '04', // byte count
      '00 0a', // register 2 = 10
      '01 02', // register 3 = 258
    ),
    response: hex(
      '10', // function
      '00 01', // starting address
      '00 02', // quantity of registers
    ),
    decoded: { fc: 0x10, address: 1, quantity: 2 },
  },
];

describe('PDU codec, MAP v1.1b3 worked examples', () => {
  for (const ex of EXAMPLES) {
    describe(ex.name, () => {
      it('client encodes the request', () => {
        assert.deepEqual(encodeRequest(ex.req), ex.request);
      });
      it('server decodes the request', () => {
        assert.deepEqual(decodeRequest(ex.request), ex.req);
      });
      it('server encodes the response', () => {
        assert.deepEqual(encodeResponse(ex.req, ex.data), ex.response);
      });
      it('client decodes the response', () => {
        assert.deepEqual(decodeResponse(ex.req, ex.response), ex.decoded);
      });
      it('lengths are known from the header', () => {
        assert.equal(requestLengthFromHeader(ex.request), ex.request.length);
        assert.equal(responseLengthFromHeader(ex.response), ex.response.length);
      });
    });
  }
});

describe('exception responses (MAP section 7)', () => {
  const req: ModbusRequest = { fc: 0x01, address: 0x04a1, quantity: 1 };
  const response = hex(
    '81', // function 01 with the exception bit 0x80 set
    '02', // exception code: ILLEGAL DATA ADDRESS
  );

  it('server encodes it', () => {
    assert.deepEqual(encodeException(0x01, 0x02), response);
  });

  it('client turns it into MODBUS_EXCEPTION with the exception code', () => {
    const error = assertModbusError(
      () => decodeResponse(req, response),
      'MODBUS_EXCEPTION',
      /ILLEGAL DATA ADDRESS/,
    );
    assert.equal(error.exceptionCode, 0x02);
    assert.equal(error.functionCode, 0x01);
  });

  for (const fc of [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0f, 0x10] as const) {
    it(`exception for function ${fc} is 2 bytes long by its header`, () => {
      assert.equal(responseLengthFromHeader(encodeException(fc, 0x04)), 2);
    });
  }

  it('an exception response with trailing bytes is malformed', () => {
    assertModbusError(() => decodeResponse(req, bytes(0x81, 0x02, 0x00)), 'MODBUS_MALFORMED');
  });
});

describe('client-side decoding errors', () => {
  const read3: ModbusRequest = { fc: 0x03, address: 0x006b, quantity: 3 };

  it('short PDU', () => {
    assertModbusError(() => decodeResponse(read3, bytes(0x03)), 'MODBUS_MALFORMED', /too short/);
  });

  it('wrong function', () => {
    const error = assertModbusError(
      () => decodeResponse(read3, bytes(0x04, 0x02, 0x00, 0x01)),
      'MODBUS_WRONG_FUNCTION',
    );
    assert.equal(error.functionCode, 0x03);
  });

  it('exception for another function is a wrong function, not an exception', () => {
    assertModbusError(() => decodeResponse(read3, bytes(0x84, 0x02)), 'MODBUS_WRONG_FUNCTION');
  });

  it('byte count that does not match the quantity asked for', () => {
    assertModbusError(
      () =>
        decodeResponse(
          read3,
          hex(
            '03', // function
            '04', // byte count 4, but 3 registers (6 bytes) were asked for
            '00 01',
            '00 02',
          ),
        ),
      'MODBUS_MALFORMED',
    );
  });

  it('byte count field that lies about a PDU of the right length', () => {
    assertModbusError(
      () =>
        decodeResponse(
          { fc: 0x03, address: 0, quantity: 1 },
          hex(
            '03', // function
            '03', // byte count 3 (must be 2), total length still 4
            '00 01',
          ),
        ),
      'MODBUS_MALFORMED',
      /byte count/,
    );
  });

  it('bit read with the wrong byte count', () => {
    assertModbusError(
      () => decodeResponse({ fc: 0x01, address: 0, quantity: 9 }, bytes(0x01, 0x01, 0xff)),
      'MODBUS_MALFORMED',
    );
  });

  it('write single coil echo with another address', () => {
    assertModbusError(
      () => decodeResponse({ fc: 0x05, address: 0x00ac, value: true }, bytes(0x05, 0x00, 0xad, 0xff, 0x00)),
      'MODBUS_MALFORMED',
      /echo/,
    );
  });

  it('write single coil echo with another value', () => {
    assertModbusError(
      () => decodeResponse({ fc: 0x05, address: 0x00ac, value: true }, bytes(0x05, 0x00, 0xac, 0x00, 0x00)),
      'MODBUS_MALFORMED',
    );
  });

  it('write single register echo with another value', () => {
    assertModbusError(
      () => decodeResponse({ fc: 0x06, address: 1, value: 3 }, bytes(0x06, 0x00, 0x01, 0x00, 0x04)),
      'MODBUS_MALFORMED',
      /echo/,
    );
  });

  it('write multiple registers echo with another quantity', () => {
    assertModbusError(
      () => decodeResponse({ fc: 0x10, address: 1, values: [1, 2] }, bytes(0x10, 0x00, 0x01, 0x00, 0x03)),
      'MODBUS_MALFORMED',
      /echo/,
    );
  });

  it('write multiple coils echo with another address', () => {
    assertModbusError(
      () =>
        decodeResponse({ fc: 0x0f, address: 0x13, values: COILS_20_29 }, bytes(0x0f, 0x00, 0x14, 0x00, 0x0a)),
      'MODBUS_MALFORMED',
    );
  });
});

describe('client-side request validation', () => {
  const cases: Array<[string, ModbusRequest]> = [
    ['zero quantity', { fc: 0x03, address: 0, quantity: 0 }],
    ['126 registers (MAP 6.3 allows 125)', { fc: 0x03, address: 0, quantity: 126 }],
    ['2001 bits (MAP 6.1 allows 2000)', { fc: 0x01, address: 0, quantity: 2001 }],
    ['address past 65535', { fc: 0x04, address: 0xffff, quantity: 2 }],
    ['negative address', { fc: 0x06, address: -1, value: 0 }],
    ['register value above 65535', { fc: 0x06, address: 0, value: 0x10000 }],
    ['fractional register value', { fc: 0x10, address: 0, values: [1.5] }],
    [
      '124 registers written (MAP 6.12 allows 123)',
      { fc: 0x10, address: 0, values: new Array<number>(124).fill(0) },
    ],
    [
      '1969 coils written (MAP 6.11 allows 1968)',
      { fc: 0x0f, address: 0, values: new Array<boolean>(1969).fill(false) },
    ],
  ];
  for (const [name, req] of cases) {
    it(`rejects ${name}`, () => {
      assertModbusError(() => encodeRequest(req), 'MODBUS_INVALID_REQUEST');
    });
  }
});

describe('server-side request decoding', () => {
  function assertRejection(pdu: Buffer, exceptionCode: number): void {
    let caught: unknown;
    try {
      decodeRequest(pdu);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof RequestRejection, `expected a RequestRejection, got ${String(caught)}`);
    assert.equal(caught.rejectWith, exceptionCode);
    assert.equal(caught.code, 'MODBUS_MALFORMED');
  }

  it('unknown function -> ILLEGAL FUNCTION (0x01)', () => {
    assertRejection(bytes(0x2b, 0x0e, 0x01, 0x00), 0x01); // 0x2B read device identification: not supported
    assertRejection(bytes(0x07), 0x01);
  });

  it('unknown function: length can only be ended by silence', () => {
    assert.equal(requestLengthFromHeader(bytes(0x2b)), null);
  });

  it('short read request -> ILLEGAL DATA VALUE (0x03)', () => {
    assertRejection(bytes(0x03, 0x00, 0x6b, 0x00), 0x03);
  });

  it('read quantity 0 or above the limit -> ILLEGAL DATA VALUE', () => {
    assertRejection(bytes(0x03, 0x00, 0x00, 0x00, 0x00), 0x03);
    assertRejection(bytes(0x03, 0x00, 0x00, 0x00, 0x7e), 0x03); // 126 registers
  });

  it('read past address 65535 -> ILLEGAL DATA ADDRESS (0x02)', () => {
    assertRejection(bytes(0x03, 0xff, 0xff, 0x00, 0x02), 0x02);
  });

  it('coil value other than FF00/0000 -> ILLEGAL DATA VALUE (MAP 6.5)', () => {
    assertRejection(bytes(0x05, 0x00, 0xac, 0x12, 0x34), 0x03);
  });

  it('write multiple with a byte count that does not match the PDU -> ILLEGAL DATA VALUE', () => {
    assertRejection(bytes(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0a), 0x03);
    assertRejection(bytes(0x0f, 0x00, 0x13, 0x00, 0x0a, 0x01, 0xcd), 0x03); // 10 coils need 2 bytes
  });

  it('write multiple registers length is known once the byte count is there', () => {
    assert.equal(requestLengthFromHeader(bytes(0x10, 0x00, 0x01, 0x00)), undefined);
    assert.equal(requestLengthFromHeader(bytes(0x10, 0x00, 0x01, 0x00, 0x02, 0x04)), 10);
  });
});

describe('bit packing (MAP 6.1: first bit in the LSB of the first byte)', () => {
  it('packs and unpacks', () => {
    assert.deepEqual(packBits([true, false, true, true, false, false, true, true, true]), bytes(0xcd, 0x01));
    assert.deepEqual(unpackBits(bytes(0xcd, 0x01), 0, 9), [
      true,
      false,
      true,
      true,
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});
