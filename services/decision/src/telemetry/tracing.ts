/**
 * The one place that configures the OpenTelemetry SDK. Library code uses only
 * @opentelemetry/api; without an OTLP endpoint configured nothing here runs and the API's
 * no-op tracer makes spans free.
 */
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config.js';

export interface Tracing {
  shutdown(): Promise<void>;
}

export function setupTracing(otel: Config['otel']): Tracing {
  if (!otel.tracesEndpoint) return { shutdown: async () => {} };
  const Exporter = otel.protocol === 'http/json' ? OTLPJsonTraceExporter : OTLPProtoTraceExporter;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': otel.serviceName }),
    // Batched and bounded: a slow collector costs dropped spans, never decision latency.
    spanProcessors: [new BatchSpanProcessor(new Exporter({ url: otel.tracesEndpoint }), { maxQueueSize: 2048 })],
  });
  provider.register();
  return {
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
}
