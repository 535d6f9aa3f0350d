/**
 * Grouping and suppression by dependency (ISA-18.2 / IEC 62682 "suppressed by design" based on
 * equipment state; docs/alarms.md: "a concentrator or bus going dark raises one grouped alarm,
 * not one per lamp"). Pure: from each device's communication picture to who suppresses what.
 *
 * - A device is dark when its comm_loss condition is active. A dark device suppresses every other
 *   alarm of the device (including its children's, whose rules carry `child`) and every alarm of
 *   the devices listed as its children in the topology.
 * - A bus is dark when it has at least two devices, every one of them is dark or failed its last
 *   poll, and at least one is already dark. Then the bus raises one derived alarm (`bus:<busId>`) and suppresses
 *   the devices' comm_loss alarms instead of annunciating one per device. "Failed its last poll"
 *   rather than "dark" because the devices' comm_loss timers run out one after the other: waiting
 *   for all of them would annunciate the first device's comm_loss and then suppress it again.
 *   A single-device bus is the device: its comm_loss alarm says it all.
 * - After a dark bus recovers, the devices that have not answered yet keep their comm_loss
 *   suppressed for one staleAfter period, so that recovery does not annunciate every device the
 *   scheduler has not reached again yet; a device still silent after that period is really lost.
 */

export interface GroupingDevice {
  deviceId: string;
  busId: string | null;
  /** The device this one depends on (it is listed among that device's topology children). */
  parentId: string | null;
  /** alarmKey of the device's comm_loss alarm; null when it has none in service. */
  commKey: string | null;
  /** Its comm_loss condition, as it will be after the current engine call. */
  commActive: boolean;
  /** The last communication attempt failed. */
  failing: boolean;
  /** The comm_loss rule's staleAfterMs (the recovery grace period). */
  staleAfterMs: number;
}

export interface GroupingBus {
  busId: string;
  /** alarmKey of the bus's derived bus_dark alarm. */
  alarmKey: string;
  /** The devices directly on the bus (not those that depend on another device). */
  deviceIds: readonly string[];
  /** The bus alarm's condition before the current call. */
  wasDark: boolean;
  /** When the bus last stopped being dark (monotonic ms), or null. */
  recoveredAtMs: number | null;
}

export interface GroupingResult {
  /** Per bus: dark now, and when it recovered (updated when it stops being dark now). */
  buses: Map<string, { dark: boolean; recoveredAtMs: number | null }>;
  /** Per device: what suppresses its alarms other than its comm_loss (an alarmKey), or null. */
  deviceSuppressor: Map<string, string | null>;
  /** Per device: what suppresses its comm_loss alarm, or null. */
  commSuppressor: Map<string, string | null>;
}

export function resolveGrouping(
  devices: ReadonlyMap<string, GroupingDevice>,
  buses: readonly GroupingBus[],
  nowMs: number,
): GroupingResult {
  const result: GroupingResult = { buses: new Map(), deviceSuppressor: new Map(), commSuppressor: new Map() };
  const busAlarm = new Map<string, string | null>();

  for (const bus of buses) {
    const members = bus.deviceIds.flatMap((id) => {
      const device = devices.get(id);
      return device === undefined ? [] : [device];
    });
    const dark =
      members.length >= 2 &&
      members.every((d) => d.failing || d.commActive) &&
      members.some((d) => d.commActive);
    const recoveredAtMs = bus.wasDark && !dark ? nowMs : bus.recoveredAtMs;
    result.buses.set(bus.busId, { dark, recoveredAtMs });
    for (const device of members) {
      const inGrace =
        !dark && recoveredAtMs !== null && device.commActive && nowMs - recoveredAtMs < device.staleAfterMs;
      busAlarm.set(device.deviceId, dark || inGrace ? bus.alarmKey : null);
    }
  }

  for (const device of devices.values()) {
    const ancestor = darkAncestor(device, devices);
    const self = device.commActive ? device.commKey : null;
    result.deviceSuppressor.set(device.deviceId, self ?? ancestor);
    result.commSuppressor.set(device.deviceId, ancestor ?? busAlarm.get(device.deviceId) ?? null);
  }
  return result;
}

/** The comm_loss alarmKey of the nearest dark device this one depends on, or null. */
function darkAncestor(device: GroupingDevice, devices: ReadonlyMap<string, GroupingDevice>): string | null {
  const seen = new Set<string>([device.deviceId]);
  let parentId = device.parentId;
  while (parentId !== null && !seen.has(parentId)) {
    seen.add(parentId);
    const parent = devices.get(parentId);
    if (parent === undefined) return null;
    if (parent.commActive && parent.commKey !== null) return parent.commKey;
    parentId = parent.parentId;
  }
  return null;
}
