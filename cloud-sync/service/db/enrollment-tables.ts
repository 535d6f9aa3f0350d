/** Kysely table types of enrollment (migration 0002). */
// PLACEHOLDER: the enrollment work fills this in.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface EnrollmentTables {}
