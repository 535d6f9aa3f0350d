/**
 * What the downlink services need from MQTT: one publish. The ingest consumer
 * (consumer/consumer.ts IngestConsumer.publish) satisfies it with its service-account session, so
 * the cloud holds one broker connection; tests pass a recording fake.
 *
 * Resolving means the broker took the message (QoS 1 PUBACK, MQTT 3.1.1 section 4.3.2), never
 * that the gateway received it: only a command_result / config_result event says that
 * (docs/uplink-contract.md, delivery rule 7).
 */
export interface DownlinkPublisher {
  publish(topic: string, payload: string, options: { retain: boolean }): Promise<void>;
}
