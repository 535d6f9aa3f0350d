/**
 * The cabinet's /metrics endpoint (fastify). `buildMetricsApp` is separate from `listen()` so
 * tests use app.inject() (ARCHITECTURE.md, "Models we imitate"). Bound to loopback by default: the
 * cabinet's local network is not a place to publish internals unasked.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export function buildMetricsApp(registry: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return app;
}
