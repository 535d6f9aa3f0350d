/**
 * Kysely table types of enrollment (migration 0002): enrolled gateways with their hashed MQTT
 * credentials, one-time enrollment tokens, service accounts and the audit trail of admin actions
 * (docs/enrollment.md). No plaintext secret or token is ever stored: only hashes.
 */

/** One enrolled gateway. Its MQTT username is its gateway id, its client id `gw-{id}`. */
export interface GatewaysTable {
  gateway_id: string;
  /**
   * What the embedded broker checks: `hmac-sha256$<keyId>$<mac>`, the keyed hash of
   * broker/credentials.ts hashSecret under the credential key file. Rows written before keyed
   * hashes hold `scrypt$N$r$p$salt$hash` until the gateway's next successful CONNECT rewrites them.
   */
  credential_hash: string;
  /**
   * The same secret in mosquitto 2.0's password-file format (`$7$iterations$salt$hash`,
   * PBKDF2-HMAC-SHA512), so the external broker's password file can be regenerated at any time
   * without the plaintext ever being kept.
   */
  mosquitto_hash: string;
  /** 1 when the gateway may no longer connect; 0 otherwise. */
  disabled: number;
  /** First enrollment (ISO 8601). */
  enrolled_at: string;
  /** Last credential rotation by a later enrollment (ISO 8601), null if never rotated. */
  rotated_at: string | null;
  /** Last change of `disabled` (ISO 8601), null if never changed. */
  disabled_changed_at: string | null;
}

/** A one-time enrollment token; its plaintext was shown once to the operator who created it. */
export interface EnrollmentTokensTable {
  /** Lower-case hex SHA-256 of the token (the token has 256 random bits, so no salt is needed). */
  token_hash: string;
  /** The gateway the token enrolls; decided by the operator, never by the caller. */
  gateway_id: string;
  /** Operator who issued it. */
  created_by: string;
  created_at: string;
  expires_at: string;
  /** Set once, in the redeeming transaction; a used token never works again. */
  used_at: string | null;
  /** Remote address that redeemed it. */
  used_from: string | null;
}

/** Cloud-side MQTT clients (ingest, commands): username `service.{name}` on the embedded broker. */
export interface ServiceAccountsTable {
  name: string;
  /** Like `gateways.credential_hash`: the keyed hash (or, until upgraded, a legacy scrypt one). */
  credential_hash: string;
  mosquitto_hash: string;
  disabled: number;
  created_by: string;
  created_at: string;
  rotated_at: string | null;
}

/** Who did what on the cloud side: every API action (auth/audit-hook.ts) and every admin command. */
export interface AdminAuditTable {
  /** Sorts in insertion order (audit.ts auditId); text, portable unlike auto-increment columns. */
  id: string;
  at: string;
  /** Operator name, or `enrollment:{remote address}` for a gateway's own request. */
  actor: string;
  action: string;
  /** Gateway id or service account name concerned. */
  target: string;
  /** JSON object with details (never a token or secret), or null. */
  detail: string | null;
  /** 'ok', 'denied' (401/403) or 'failed' (4xx/5xx); null for rows written before migration 0004. */
  outcome: string | null;
  /** Where the action came from: `http:{ip}`, `cli`, `mqtt:{gatewayId}`; null before migration 0004. */
  source: string | null;
}

export interface EnrollmentTables {
  gateways: GatewaysTable;
  enrollment_tokens: EnrollmentTokensTable;
  service_accounts: ServiceAccountsTable;
  admin_audit: AdminAuditTable;
}
