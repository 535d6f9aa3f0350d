/**
 * Byte literals for codec tests, one field per argument so each can carry its comment:
 *
 *     hex(
 *       '01', // function: read coils
 *       '00 13', // starting address 19
 *     )
 */
export function hex(...fields: string[]): Buffer {
  const digits = fields.join('').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not whole hex bytes: ${fields.join(' | ')}`);
  return Buffer.from(digits, 'hex');
}
