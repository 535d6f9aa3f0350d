/**
 * The downlink's timing: what to do when a gateway reports online, at service start, and
 * periodically (docs/downlink.md). Kept apart from the services so service.ts wires three
 * functions and the services stay free of timers.
 *
 * Why resend at all, with QoS 1 and persistent gateway sessions? The broker may have lost the
 * session (the embedded broker keeps sessions and retained messages in memory; an external one
 * may be replaced), a publish may have failed while the broker was away, and a command stored
 * while the consumer was disconnected was never published. A repeat costs nothing: the gateway
 * runs a command id once (docs/uplink-contract.md, delivery rule 7) and ignores a document version
 * it has seen.
 */
import type { Logger } from 'pino';
import type { Status } from '../../contract/types.js';
import type { CommandService } from './commands.js';
import type { ConfigDocumentService } from './config-documents.js';
import { DownlinkError } from './errors.js';

export interface DownlinkResyncOptions {
  commands: CommandService;
  configs: ConfigDocumentService;
  logger: Logger;
}

/**
 * For the consumer's `onStatusStored`: when a gateway reports online, publish its open commands
 * again, and its newest configuration version too while that has no result yet. Synchronous as
 * the consumer expects; the work runs in the background and logs its own failures.
 */
export function downlinkStatusListener(
  options: DownlinkResyncOptions,
): (gatewayId: string, status: Status) => void {
  return (gatewayId, status) => {
    if (!status.online) return;
    void resyncGateway(options, gatewayId).catch((error: unknown) => {
      options.logger.error({ err: error, gatewayId }, 'downlink resync after online report failed');
    });
  };
}

async function resyncGateway(options: DownlinkResyncOptions, gatewayId: string): Promise<void> {
  await options.commands.resendPending(gatewayId);
  let current;
  try {
    current = await options.configs.current(gatewayId);
  } catch (error) {
    // A gateway that is online but not enrolled any more has nothing waiting. Anything else (a
    // database outage) is a failure, and the listener logs it as one.
    if (error instanceof DownlinkError && error.code === 'DOWNLINK_UNKNOWN_GATEWAY') return;
    throw error;
  }
  if (current.latest?.status === 'pending') await options.configs.republish(gatewayId);
}

/**
 * At service start, once the consumer is connected: every gateway's newest document is retained
 * again (the embedded broker lost its retained messages with the previous process).
 */
export async function republishAtStart(options: DownlinkResyncOptions): Promise<void> {
  const published = await options.configs.republishAll();
  options.logger.info({ published }, 'configuration documents republished (retained)');
}

/**
 * Marks overdue commands unconfirmed every `intervalMs` (default 30 s). Returns the stop function;
 * the timer is unref'd so it never keeps the process alive.
 */
export function startCommandExpirySweep(
  commands: CommandService,
  logger: Logger,
  intervalMs = 30_000,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    commands
      .expireOverdue()
      .catch((error: unknown) => logger.error({ err: error }, 'command expiry sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
