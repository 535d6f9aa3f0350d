/**
 * The gateway's running core (ARCHITECTURE.md, "The path of one reading"), built by main.ts and by
 * the demo:
 *
 *   buses (one scheduler each) ──poll──> pipeline ──one transaction──> store (kerbside.db)
 *                                          │ alarm engine, telemetry, strain, lighting
 *                                          └──> event bus (store:committed ...) for the uplink
 *
 * The constructor only assigns (ARCHITECTURE.md, "Invariants"); start() opens the store, restores
 * the alarm states, starts the buses and the pipeline; stop() works in reverse so the last polls
 * are committed before the database closes. A bus that fails to start is logged and left out: the
 * others keep polling and alarming.
 *
 * The downlink (gateway/downlink, docs/commands.md, docs/config-downlink.md): cloud commands and
 * configuration documents arrive through the uplink; the technician's local overrides through
 * setLocalOverride / clearLocalOverride / reloadConfigFile. A configuration change is swapped into
 * the running modules as a whole by downlink/config-swap.ts.
 *
 * Every write to the store goes through ONE Committer (store/committer.ts), built here and handed
 * to each writer: the pipeline, the downlink, and this file's own start-up records.
 *
 * The cabinet web UI (gateway/web, docs/ui.md) sees the running gateway through a few façades
 * here: webStore() (reads on the read connection, commits through the one Committer), audit(),
 * operateAlarm() with the client's address, readBus() (an on-demand read queued on the device's
 * bus scheduler), commandLighting() (lighting/local-command.ts) and read-only snapshots.
 *
 * This file is lifecycle and wiring only: the periodic summary is metrics/summary.ts, the
 * configuration swap downlink/config-swap.ts, the technician's lighting command
 * lighting/local-command.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { SerialSettings } from '../drivers/transport/transport.js';
import { AlarmEngine } from './alarms/engine.js';
import { derivedRule } from './alarms/rules.js';
import type { AlarmRule, AlarmTopology, OperatorAction } from './alarms/types.js';
import { BusError, BusScheduler } from './bus/scheduler.js';
import type {
  BusConfig,
  BusCounters,
  BusDeviceConfig,
  BusReadRequest,
  BusReadResult,
  DevicePollResult,
  PointValue,
} from './bus/types.js';
import { planBuses, type BusPlan } from './config/bus-plan.js';
import type { DeviceConfig, GatewayConfig } from './config/types.js';
import type { AuditEvent } from '../cloud-sync/contract/events.js';
import type { RemoteConfig } from '../cloud-sync/contract/config-document.js';
import { EventBus } from './events/event-bus.js';
import { LightingController } from './lighting/controller.js';
import {
  runLocalLightingCommand,
  type LocalActor,
  type LocalLightingCommand,
  type LocalLightingOutcome,
} from './lighting/local-command.js';
import type { LightingSnapshot } from './lighting/snapshot.js';
import { LightingError } from './lighting/types.js';
import {
  alarmsByState,
  busSummary,
  emptyTally,
  SummaryLog,
  tallyPoll,
  type GatewaySummary,
  type PollTally,
} from './metrics/summary.js';
import {
  Pipeline,
  type AlarmOperationName,
  type OperationContext,
  type StopOutcome,
} from './pipeline/pipeline.js';
import { createCommitter, type Committer } from './store/committer.js';
import { HeldMarker, type HeldNote } from './store/held-marker.js';
import type { ShelveOptions } from './alarms/engine.js';
import type { LoadedProfile } from './profiles/types.js';
import {
  openGatewayStore,
  type GatewayStore,
  type GatewayStoreOptions,
  type GatewayStoreStats,
} from './store/event-store.js';
import { StrainAnalyzer } from './strain/analyzer.js';
import { TelemetryReporter } from './telemetry/reporter.js';
import { Uplink, type UplinkOptions, type UplinkStats } from './uplink/uplink.js';
import { CommandHandler, type CommandStats } from './downlink/commands.js';
import { alarmRulesOf, ConfigSwap } from './downlink/config-swap.js';
import { DownlinkError } from './downlink/errors.js';
import { ConfigDownlink, type ConfigSource, type ReloadSummary } from './downlink/remote-config.js';
import { DownlinkVerifier } from './downlink/signature.js';
import { pinDownlinkKeys } from './enrollment/credentials.js';
import type { LocalOverrideRow } from './store/downlink-rows.js';
import type { WebStorePort } from './web/ports.js';

/** The summary's shapes stay importable from here, where they were first (metrics/summary.ts). */
export type { BusSummary, GatewaySummary } from './metrics/summary.js';

/** What the gateway needs of a bus scheduler (BusScheduler implements it). */
export interface PollingBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  onPoll(listener: (result: DevicePollResult) => void): () => void;
  counters(): BusCounters;
  write(deviceId: string, pointKey: string, value: PointValue): Promise<void>;
  /** An on-demand read queued like a write (BusScheduler.read). Absent: the bus cannot (a test fake). */
  read?(deviceId: string, request: BusReadRequest): Promise<BusReadResult>;
  /** A new poll interval (configuration documents); returns its undo. Absent: needs a restart. */
  setPollInterval?(deviceId: string, pollIntervalMs: number): () => void;
}

export type BusFactory = (options: {
  config: BusConfig;
  devices: BusDeviceConfig[];
  logger: Logger;
}) => PollingBus;

export interface GatewayOptions {
  /** Builds the scheduler of one bus. Default: a BusScheduler. Tests inject a fake. */
  createBus?: BusFactory;
  /** Period of the info-level summary line; 0 turns it off. Default 30 s. */
  summaryIntervalMs?: number;
  /** How often the pipeline commits a cycle. Default 250 ms. */
  flushIntervalMs?: number;
  /** How long a stop keeps trying to commit what is held (a full disk). Default 5 s. */
  stopCommitTimeoutMs?: number;
  /** Send the outbox to the cloud (gateway/uplink); absent: the cabinet runs on its own. */
  uplink?: UplinkOptions;
  /** Outbox quotas and eviction step (defaults: gateway/store/outbox.ts); tests shrink them. */
  outbox?: Pick<GatewayStoreOptions, 'outboxQuota' | 'telemetryEvictRows'>;
  /** The storage reserve and its thresholds (store/storage-guard.ts); tests on a small disk shrink them. */
  storageGuard?: GatewayStoreOptions['storage'];
  /**
   * The configuration file's document as read (before defaults) and its folder: the base that
   * cloud configuration documents and local overrides are laid over (docs/config-downlink.md).
   * Absent: configuration documents are rejected and local overrides refused.
   */
  configSource?: ConfigSource;
}

interface RunningBus {
  id: string;
  bus: PollingBus;
  deviceIds: Set<string>;
  tally: PollTally;
  unsubscribe: () => void;
}

export class Gateway {
  /** Typed events, announced after each commit (ARCHITECTURE.md, "The event bus"). */
  readonly events: EventBus;
  private store: GatewayStore | undefined;
  private engine: AlarmEngine | undefined;
  private pipeline: Pipeline | undefined;
  private lighting: LightingController | undefined;
  private uplink: Uplink | undefined;
  private commands: CommandHandler | undefined;
  private configDownlink: ConfigDownlink | undefined;
  /** Holds the configuration in force (file, document, local overrides) while running. */
  private configSwap: ConfigSwap | undefined;
  private stopUplinkNotify: (() => void) | undefined;
  private buses: RunningBus[] = [];
  private summaryLog: SummaryLog | undefined;
  private running = false;
  private heldMarker: HeldMarker | undefined;
  /** The one commit path of this run (store/committer.ts); set by start(). */
  private committer: Committer | undefined;
  /** When start() finished, on the process clock and the wall clock (the cabinet's uptime). */
  private startedAt: { monoMs: number; wallMs: number } | null = null;

  constructor(
    private readonly config: GatewayConfig,
    private readonly profiles: ReadonlyMap<string, LoadedProfile>,
    private readonly logger: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    this.events = new EventBus(logger);
  }

  /**
   * Opens the store (throws StoreError if it cannot be trusted: the gateway must not run on it),
   * restores alarm states, and starts every bus and the pipeline.
   */
  async start(): Promise<void> {
    if (this.running) return;
    const plans = planBuses(this.config, this.profiles);
    const store = openGatewayStore(this.config.dataDir, {
      logger: this.logger.child({ module: 'store' }),
      retention: { raw: this.config.storage.rawRetention },
      // The configuration's storage.outbox; a test's options.outbox overrides it value by value.
      outboxQuota: { ...this.config.storage.outbox.quotas, ...this.options.outbox?.outboxQuota },
      telemetryEvictRows:
        this.options.outbox?.telemetryEvictRows ?? this.config.storage.outbox.telemetryEvictRows,
      ...(this.options.storageGuard === undefined ? {} : { storage: this.options.storageGuard }),
    });
    this.store = store;
    // The one commit path of every writer below (store/committer.ts).
    const committer = createCommitter(store, this.events);
    this.committer = committer;
    const heldMarker = this.openHeldMarker(committer);
    const deviceProfiles = new Map(plans.flatMap((p) => p.devices.map((d) => [d.id, d.profile] as const)));
    const engine = new AlarmEngine(
      alarmRulesOf(plans, this.config),
      store.loadAlarmRecords(),
      topologyOf(plans),
    );
    this.engine = engine;
    this.lighting = this.createLighting(deviceProfiles);
    this.configSwap = new ConfigSwap(this.config, {
      profiles: this.profiles,
      engine,
      lighting: this.lighting,
      busOf: (deviceId) => this.buses.find((b) => b.deviceIds.has(deviceId))?.bus,
      logger: this.logger,
    });
    this.pipeline = new Pipeline({
      store,
      committer,
      engine,
      telemetry: new TelemetryReporter({ profiles: deviceProfiles }),
      strain: new Map(
        this.config.strain.map((s) => [
          s.device,
          new StrainAnalyzer({
            deviceId: s.device,
            config: s,
            logger: this.logger.child({ module: 'strain', device: s.device }),
          }),
        ]),
      ),
      lighting: this.lighting ?? null,
      events: this.events,
      logger: this.logger.child({ module: 'pipeline' }),
      ...(this.options.flushIntervalMs === undefined
        ? {}
        : { flushIntervalMs: this.options.flushIntervalMs }),
      storageRule: storageRule(this.config.gatewayId),
      ...(heldMarker === null ? {} : { heldMarker }),
    });
    if (store.quarantine !== null) this.raiseQuarantineAlarm(store, committer);
    this.running = true;

    try {
      await this.startBuses(plans);
    } catch (error) {
      // Only a programming error gets here (a bus that fails to start is handled per bus).
      await this.stop();
      throw error;
    }
    this.pipeline.start();
    this.lighting?.start();
    this.startDownlink(store, committer);
    this.startUplink(store);
    this.logger.info(
      { file: store.path, epoch: store.epoch, alarms: engine.records().length },
      'gateway started',
    );

    this.startedAt = { monoMs: performance.now(), wallMs: Date.now() };
    this.summaryLog = new SummaryLog(
      () => this.summary(),
      this.logger,
      this.options.summaryIntervalMs ?? 30_000,
    );
    this.summaryLog.start();
  }

  /**
   * Stops polling, commits the last cycles, closes the database. Never throws. When something
   * decided could not be stored (a full disk that stays full through the stop's retries), the
   * outcome says exactly what was lost, and so does an error log line (docs/storage.md).
   */
  async stop(): Promise<StopOutcome> {
    if (!this.running) return NOTHING_LOST;
    this.running = false;
    this.summaryLog?.stop();
    this.summaryLog = undefined;
    await this.lighting
      ?.stop()
      .catch((error: unknown) => this.logger.error({ err: error }, 'lighting did not stop cleanly'));
    const buses = this.buses;
    this.buses = [];
    await Promise.all(
      buses.map(async ({ id, bus, unsubscribe }) => {
        try {
          await bus.stop();
        } catch (error) {
          this.logger.error({ err: error, bus: id }, 'bus did not stop cleanly');
        } finally {
          unsubscribe();
        }
      }),
    );
    let outcome: StopOutcome = NOTHING_LOST;
    try {
      outcome = (await this.pipeline?.stop(this.options.stopCommitTimeoutMs)) ?? NOTHING_LOST;
    } catch (error) {
      this.logger.error({ err: error }, 'the last cycle could not be committed');
    }
    if (!outcome.stored) {
      this.logger.error(
        { ...outcome },
        `stopped with ${outcome.lostEvents} decided events not stored (${Object.entries(outcome.lostByKind)
          .map(([kind, n]) => `${n} ${kind}`)
          .join(', ')}): the disk stayed full`,
      );
    }
    // After the last commit: whatever is unsent stays in the outbox for the next start.
    this.stopUplinkNotify?.();
    this.stopUplinkNotify = undefined;
    await this.uplink?.stop();
    this.uplink = undefined;
    this.commands = undefined;
    this.configDownlink = undefined;
    this.configSwap = undefined;
    const stats = this.store?.stats();
    this.store?.close();
    // The full store statistics are ~2 KB of JSON: the info line keeps what tells a clean stop
    // from a troubled one, the detail goes to debug.
    if (stats === undefined) this.logger.info('gateway stopped');
    else {
      this.logger.debug({ store: stats }, 'gateway stopped: store statistics');
      const { file, commits, failedCommits, eventsWritten, refusedEvents } = stats;
      this.logger.info({ file, commits, failedCommits, eventsWritten, refusedEvents }, 'gateway stopped');
    }
    this.heldMarker?.close();
    this.heldMarker = undefined;
    this.store = undefined;
    this.committer = undefined;
    this.startedAt = null;
    this.pipeline = undefined;
    this.engine = undefined;
    return outcome;
  }

  /**
   * An operator action on an alarm (web UI, CLI, cloud command): applied, committed with its
   * audit record, and returned. Throws AlarmError for an illegal operation.
   */
  operateAlarm(
    operation: AlarmOperationName,
    alarmKey: string,
    action: OperatorAction,
    shelve?: ShelveOptions,
    context?: OperationContext,
  ): void {
    if (!this.pipeline) throw new Error('the gateway is not running');
    this.pipeline.operate(operation, alarmKey, action, shelve, context);
  }

  /**
   * kerbside.db for the cabinet web server (gateway/web/ports.ts): short read transactions on the
   * read-only connection, commits through the one Committer, the store's clock. Each call throws
   * while the gateway is not running.
   */
  webStore(): WebStorePort {
    return {
      read: (fn) => this.requireStore().readTransaction(fn),
      commit: (cycle) => this.requireCommitter().commit(cycle),
      now: () => this.requireStore().now(),
    };
  }

  /** Records who did what (web UI, CLI), committed at once with its outbox event. Throws StoreError. */
  audit(event: Omit<AuditEvent, 'kind'>): void {
    this.requireCommitter().commit({ events: [{ kind: 'audit', ...event }] });
  }

  /**
   * A technician's on-demand read of a point or raw range (the commissioning panel), queued on the
   * device's bus scheduler between its polls. Rejects with BusError (BUS_UNKNOWN_DEVICE,
   * BUS_UNKNOWN_POINT, BUS_OUT_OF_RANGE, BUS_FORBIDDEN_RANGE, BUS_STOPPED) or the ModbusError of
   * the transaction.
   */
  readBus(deviceId: string, request: BusReadRequest): Promise<BusReadResult> {
    const running = this.buses.find((b) => b.deviceIds.has(deviceId));
    if (running?.bus.read === undefined) {
      const configured = this.config.devices.some((d) => d.id === deviceId);
      return Promise.reject(
        new BusError(
          configured ? 'BUS_STOPPED' : 'BUS_UNKNOWN_DEVICE',
          configured ? `the bus of ${deviceId} is not running` : `no device ${deviceId} on this cabinet`,
        ),
      );
    }
    return running.bus.read(deviceId, request);
  }

  /**
   * A technician's switch or dim (lighting/local-command.ts): an override with an expiry, answered
   * once the concentrator answered, audited with the result. Rejects with LightingError
   * (LIGHTING_NOT_CONFIGURED, LIGHTING_UNKNOWN_TARGET, LIGHTING_BAD_OVERRIDE, LIGHTING_NOT_WRITTEN)
   * or the write's ModbusError.
   */
  commandLighting(cmd: LocalLightingCommand, actor: LocalActor): Promise<LocalLightingOutcome> {
    const lighting = this.lighting;
    if (lighting === undefined || !this.running)
      return Promise.reject(
        new LightingError('LIGHTING_NOT_CONFIGURED', 'this cabinet runs no lighting (no lighting section)'),
      );
    return runLocalLightingCommand(
      { lighting, audit: (event) => this.audit(event), logger: this.logger.child({ module: 'lighting' }) },
      cmd,
      actor,
    );
  }

  /** The lighting as it is now (lighting/snapshot.ts); null on a cabinet without lighting. */
  lightingSnapshot(): LightingSnapshot | null {
    return this.lighting?.snapshot() ?? null;
  }

  /** Every configured device with its profile, in configuration order. */
  devices(): Array<{ config: DeviceConfig; profile: LoadedProfile }> {
    return this.config.devices.flatMap((config) => {
      const profile = this.profiles.get(config.profile);
      return profile === undefined ? [] : [{ config, profile }];
    });
  }

  /** Every configured bus with the counters of its scheduler; null counters: it did not start. */
  busStates(): Array<{ config: BusConfig; counters: BusCounters | null }> {
    return this.config.buses.map((config) => ({
      config,
      counters: this.buses.find((b) => b.id === config.id)?.bus.counters() ?? null,
    }));
  }

  /** The alarm rules in force (effective configuration), derived and bus rules included. */
  alarmRules(): AlarmRule[] {
    return this.engine?.rules() ?? [];
  }

  /** The documents the configuration in force is laid from: the file and the cloud's active one. */
  configDocuments(): { file: unknown; active: { version: number; document: RemoteConfig } | null } {
    return {
      file: this.configDownlink?.fileDocument() ?? this.options.configSource?.document ?? null,
      active: this.configDownlink?.activeDocument() ?? null,
    };
  }

  /** The uplink's state; null when this cabinet runs without one. */
  uplinkStats(): UplinkStats | null {
    return this.uplink?.stats() ?? null;
  }

  /** Store figures (outbox, sizes, storage state); null while stopped. */
  storeStats(): GatewayStoreStats | null {
    return this.store?.stats() ?? null;
  }

  /** When this run started (process and wall clock); null while stopped. */
  startedTime(): { monoMs: number; wallMs: number } | null {
    return this.startedAt;
  }

  private requireStore(): GatewayStore {
    if (this.store === undefined || !this.running) throw new Error('the gateway is not running');
    return this.store;
  }

  private requireCommitter(): Committer {
    if (this.committer === undefined || !this.running) throw new Error('the gateway is not running');
    return this.committer;
  }

  /** Live counters for /metrics: bus and device counters, store and outbox figures, alarm records. */
  metricsSnapshot(): {
    buses: BusCounters[];
    store: GatewayStoreStats | null;
    alarms: ReturnType<AlarmEngine['records']>;
    uplink: UplinkStats | null;
    pipeline: ReturnType<Pipeline['stats']> | null;
  } {
    return {
      buses: this.buses.map((b) => b.bus.counters()),
      store: this.store?.stats() ?? null,
      alarms: this.engine?.records() ?? [],
      uplink: this.uplink?.stats() ?? null,
      pipeline: this.pipeline?.stats() ?? null,
    };
  }

  /** Connects the uplink (in the background; it retries on its own) and wakes it on every commit. */
  private startUplink(store: GatewayStore): void {
    if (this.options.uplink === undefined) return;
    const uplink = new Uplink(
      store,
      {
        ...this.options.uplink,
        onCommand: (payload) => void this.commands?.handle(payload),
        onConfig: (payload) => this.onConfigDocument(payload),
        configVersion: () => this.configVersion(),
      },
      this.logger.child({ module: 'uplink' }),
    );
    this.uplink = uplink;
    const stopNotify = this.events.on('store:committed', () => uplink.notify());
    // The cloud learns of a full disk at once, not at the next 30 s status.
    const stopStorage = this.events.on('storage:changed', () => uplink.refreshStatus());
    this.stopUplinkNotify = () => {
      stopNotify();
      stopStorage();
    };
    uplink.start();
  }

  /** Command handling and, with a configSource, configuration documents; both before the uplink. */
  private startDownlink(store: GatewayStore, committer: Committer): void {
    const logger = this.logger.child({ module: 'downlink' });
    // The cloud's keys pinned with the credential (docs/downlink-signing.md); announced keys are
    // written back to the credentials file in dataDir. Without an uplink nothing arrives anyway.
    const uplink = this.options.uplink;
    const verifier = new DownlinkVerifier({
      gatewayId: uplink?.gatewayId ?? this.config.gatewayId,
      keys: uplink?.downlinkKeys ?? [],
      persist: (keys) => pinDownlinkKeys(this.config.dataDir, keys),
      logger,
    });
    this.commands = new CommandHandler({
      store,
      committer,
      lighting: () => this.lighting ?? null,
      operateAlarm: (op, key, action, shelve) => this.operateAlarm(op, key, action, shelve),
      verifier,
      logger,
    });
    const interrupted = this.commands.recoverInterrupted();
    if (interrupted > 0)
      logger.error({ interrupted }, 'commands interrupted by the last stop reported failed');
    const source = this.options.configSource;
    if (source === undefined) return;
    this.configDownlink = new ConfigDownlink(
      {
        store,
        committer,
        profiles: this.profiles,
        swap: (config, now) => {
          if (this.configSwap === undefined)
            throw new DownlinkError('DOWNLINK_NOT_RUNNING', 'the gateway is not running');
          return this.configSwap.swap(config, now);
        },
        statusChanged: () => this.uplink?.refreshStatus(),
        verifier,
        logger,
      },
      source,
    );
    try {
      this.configDownlink.restore();
    } catch (error) {
      logger.error({ err: error }, 'the recorded configuration could not be restored; running on the file');
    }
  }

  private onConfigDocument(payload: Buffer): void {
    if (this.configDownlink !== undefined) {
      this.configDownlink.handle(payload);
      return;
    }
    this.logger.warn(
      'a configuration document arrived, but this gateway runs without its configuration source',
    );
  }

  /** The configuration document version in force (up/status configVersion); null: the file alone. */
  configVersion(): number | null {
    return this.configDownlink?.activeVersion() ?? null;
  }

  /** The configuration in force (file, document, local overrides). */
  effectiveConfig(): GatewayConfig {
    return this.configSwap?.current() ?? this.config;
  }

  /**
   * A technician's change of one setting, named by a pointer in the configuration document's
   * shape (/alarms/gas-1/h2s_high/onDelayS); null removes the setting. Validated like a document,
   * applied atomically, stored, and reported upstream as a config_override event; it stays in
   * force over later cloud documents until cleared. Throws DownlinkError.
   */
  setLocalOverride(pointer: string, value: unknown, by: string, reason: string | null): void {
    this.requireConfigDownlink().setLocalOverride(pointer, value, by, reason);
  }

  /** Ends a local override: the document's (or the file's) value is back in force. Throws DownlinkError. */
  clearLocalOverride(pointer: string, by: string, reason: string | null): void {
    this.requireConfigDownlink().clearLocalOverride(pointer, by, reason);
  }

  localOverrides(): LocalOverrideRow[] {
    return this.configDownlink?.localOverrides() ?? [];
  }

  /**
   * SIGHUP: the configuration file's new document. Changes in the overlay areas become local
   * overrides (by 'local-file'); the rest is returned as needing a restart. Throws DownlinkError
   * when the gateway runs without a configuration source.
   */
  reloadConfigFile(document: unknown): ReloadSummary {
    return this.requireConfigDownlink().reloadFile(document);
  }

  /** Commands by action and result, configuration documents by result (for /metrics). */
  downlinkStats(): { commands: CommandStats | null; config: Record<string, number> | null } {
    return { commands: this.commands?.stats() ?? null, config: this.configDownlink?.stats() ?? null };
  }

  private requireConfigDownlink(): ConfigDownlink {
    if (!this.running) throw new DownlinkError('DOWNLINK_NOT_RUNNING', 'the gateway is not running');
    if (this.configDownlink === undefined)
      throw new DownlinkError(
        'DOWNLINK_NO_SOURCE',
        'this gateway was started without its configuration document: local overrides are not possible',
      );
    return this.configDownlink;
  }

  /** The current alarm records (for the web UI and CLI). */
  alarms(): ReturnType<AlarmEngine['records']> {
    return this.engine?.records() ?? [];
  }

  /** Poll tallies since the previous summary (reset by this call), bus counters and store stats. */
  summary(): GatewaySummary {
    const buses = this.buses.map((running) => {
      const tally = running.tally;
      running.tally = emptyTally();
      return busSummary(running.id, tally, running.bus.counters());
    });
    return {
      buses,
      store: this.store?.stats() ?? null,
      pipeline: this.pipeline?.stats() ?? null,
      alarms: alarmsByState(this.engine?.records() ?? []),
    };
  }

  private createLighting(deviceProfiles: ReadonlyMap<string, LoadedProfile>): LightingController | undefined {
    const lighting = this.config.lighting;
    if (!lighting) return undefined;
    const devices = lighting.devices.map((d) => {
      const profile = deviceProfiles.get(d.device);
      if (!profile) throw new Error(`lighting device ${d.device} is not configured`);
      return { id: d.device, profile };
    });
    return new LightingController({
      config: lighting,
      devices,
      writer: (deviceId, pointKey, value) => this.busOf(deviceId).write(deviceId, pointKey, value),
      logger: this.logger.child({ module: 'lighting' }),
      cabinetId: this.config.gatewayId,
    });
  }

  private busOf(deviceId: string): PollingBus {
    const running = this.buses.find((b) => b.deviceIds.has(deviceId));
    if (!running) throw new Error(`device ${deviceId} is on no running bus`);
    return running.bus;
  }

  /**
   * The held-decisions marker (store/held-marker.ts): if the previous run died while decisions
   * waited for a full disk, the priority lane gets a gap event saying which interval may be
   * missing. Without a marker (no room even for it) the gateway runs on and says so.
   */
  private openHeldMarker(committer: Committer): HeldMarker | null {
    const marker = new HeldMarker(this.config.dataDir);
    let left: HeldNote | null;
    try {
      left = marker.open();
    } catch (error) {
      this.logger.error({ err: error, file: marker.file }, 'the held-decisions marker cannot be written');
      return null;
    }
    this.heldMarker = marker;
    if (left === null) return marker;
    const reason =
      `the previous run stopped while ${left.events} decided events waited in memory for a full disk; ` +
      'decisions of this interval may be missing';
    try {
      committer.commit({
        lostDecisions: {
          count: left.events,
          fromWallMs: left.sinceWallMs,
          toWallMs: left.untilWallMs,
          reason,
        },
      });
      this.logger.error({ ...left }, reason);
    } catch (error) {
      this.logger.error({ err: error, ...left }, `${reason}; and this could not be recorded`);
    }
    return marker;
  }

  private raiseQuarantineAlarm(store: GatewayStore, committer: Committer): void {
    const rule = quarantineRule(this.config.gatewayId);
    const now = store.now();
    const output = this.engine?.setDerivedCondition(rule, true, 1, null, now);
    if (output) committer.commit({ events: [...output.transitions], alarmRecords: output.records, at: now });
    this.logger.error(
      { quarantine: store.quarantine },
      'the gateway database was damaged and replaced; alarm raised',
    );
  }

  private async startBuses(plans: BusPlan[]): Promise<void> {
    const createBus = this.options.createBus ?? ((o) => new BusScheduler(o));
    for (const plan of plans) {
      const busLogger = this.logger.child({ bus: plan.bus.id });
      const bus = createBus({ config: plan.bus, devices: plan.devices, logger: this.logger });
      const running: RunningBus = {
        id: plan.bus.id,
        bus,
        deviceIds: new Set(plan.devices.map((d) => d.id)),
        tally: emptyTally(),
        unsubscribe: () => undefined,
      };
      running.unsubscribe = bus.onPoll((result) => this.onPoll(running, result));
      try {
        await bus.start();
      } catch (error) {
        running.unsubscribe();
        busLogger.error({ err: error }, 'bus failed to start; the other buses keep polling');
        await bus
          .stop()
          .catch((stopError: unknown) => busLogger.debug({ err: stopError }, 'stop after failed start'));
        continue;
      }
      this.buses.push(running);
      busLogger.info(
        { kind: plan.bus.kind, endpoint: describeEndpoint(plan.bus), devices: plan.devices.map((d) => d.id) },
        `bus ${plan.bus.id} started with ${plan.devices.length} device${plan.devices.length === 1 ? '' : 's'}`,
      );
    }
  }

  private onPoll(running: RunningBus, result: DevicePollResult): void {
    tallyPoll(running.tally, result);
    this.pipeline?.onPoll(result);
  }
}

/** Where devices sit, so the alarm engine can group a dark bus or device. */
function topologyOf(plans: BusPlan[]): AlarmTopology {
  return {
    devices: plans.flatMap((p) =>
      p.devices.map((d) => ({
        deviceId: d.id,
        busId: p.bus.id,
        children: d.profile.children.map((c) => c.id),
      })),
    ),
  };
}

const NOTHING_LOST: StopOutcome = {
  stored: true,
  lostEvents: 0,
  lostByKind: {},
  lostAlarms: [],
  error: null,
};

/**
 * The storage alarm (docs/storage.md "A full disk"): level 1 when space is low and only decisions
 * are stored, level 2 when a write failed for want of space. Its value is the free space in MiB.
 */
function storageRule(gatewayId: string): AlarmRule {
  const rule = derivedRule({
    deviceId: gatewayId,
    ruleKey: 'derived.storage',
    derivedKind: 'storage',
    child: null,
    priority: 'high',
    message: {
      'zh-CN': '网关存储空间不足：只保存决策，读数与遥测被丢弃',
      en: 'Gateway storage short: only decisions are stored, readings and telemetry are dropped',
    },
    source: 'issue 10: storage trouble is a first-class state; docs/storage.md',
  });
  return {
    ...rule,
    levels: [
      { level: 1, setpoint: 0, priority: 'medium' },
      { level: 2, setpoint: 0, priority: 'high' },
    ],
  };
}

/** The derived alarm raised when the database had to be quarantined (docs/storage.md). */
function quarantineRule(gatewayId: string): AlarmRule {
  return derivedRule({
    deviceId: gatewayId,
    ruleKey: 'derived.store_quarantined',
    derivedKind: 'store_quarantined',
    child: null,
    priority: 'high',
    setpoint: 1,
    latched: true,
    message: {
      'zh-CN': '网关数据库损坏，已隔离并重建',
      en: 'Gateway database damaged: quarantined and started fresh',
    },
    source: 'docs/storage.md: a corrupt database is quarantined, started fresh, and alarmed',
  });
}

function describeEndpoint(bus: BusConfig): string {
  switch (bus.kind) {
    case 'rtu':
      return `${bus.path}@${serialLabel(bus.serial)}`;
    case 'rtu-over-tcp':
      return `${bus.host}:${bus.port} (RTU ${serialLabel(bus.serial)})`;
    case 'tcp':
      return `${bus.host}:${bus.port}`;
  }
}

/** The usual "9600-8E1" notation. */
function serialLabel(serial: SerialSettings): string {
  const parity = { none: 'N', even: 'E', odd: 'O' }[serial.parity];
  return `${serial.baudRate}-${serial.dataBits}${parity}${serial.stopBits}`;
}
