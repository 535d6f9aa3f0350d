/** Kysely table types of gateway status (migration 0003). */
// PLACEHOLDER: the service-process work fills this in.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface StatusTables {}
