// Types for json-source-map 0.6 (the package ships none). Only the part the profile loader uses.
declare module 'json-source-map' {
  /** 0-based line and column, and 0-based character offset. */
  export interface Location {
    line: number;
    column: number;
    pos: number;
  }
  export interface PointerLocation {
    key?: Location;
    keyEnd?: Location;
    value: Location;
    valueEnd: Location;
  }
  export interface ParseResult {
    data: unknown;
    /** Keyed by JSON pointer (RFC 6901), '' for the root. */
    pointers: Record<string, PointerLocation>;
  }
  /** Throws SyntaxError "Unexpected token x in JSON at position N" or "Unexpected end of JSON input". */
  export function parse(source: string): ParseResult;
}
