import { Histogram } from 'prom-client';

/**
 * The histograms observed outside src/metrics, by SqlRunner and ChangeStreams.
 * Each instance of those owns one, in no registry: MetricsService adds it to its
 * app's registry, so two apps in one process (the tests) never share a count.
 * Built here so that every metric's name, help and buckets can be read in
 * src/metrics alone.
 */

export function statementDurationHistogram(): Histogram {
  return new Histogram({
    name: 'db_client_operation_duration_seconds',
    help:
      'Seconds each SQL statement took, until its last row; a statement outside a transaction ' +
      'includes its wait for a free connection of the pg pool.',
    // Most statements take a few milliseconds; DB_STATEMENT_TIMEOUT_MS (5 s) ends the rest.
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
}

export function changeDeliveryHistogram(): Histogram {
  return new Histogram({
    name: 'tasks_change_stream_delivery_seconds',
    help:
      "Seconds from a commit's notification reaching this instance (PostgreSQL sends it at the commit) " +
      "to the change's event being written to a stream's socket; one observation per live event, " +
      'none for the catch-up from a sync token.',
    // The contract promises a change on every stream within 1 s.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
}
