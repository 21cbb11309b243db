/**
 * CloudWatch metrics through the Embedded Metric Format (EMF): one JSON line
 * on stdout that CloudWatch Logs turns into metrics, so a Lambda needs no
 * PutMetricData call (no extra latency, no extra IAM permission, no SDK).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

export const METRICS_NAMESPACE = 'Starline'

/** The functions that emit metrics; the value of the `Function` dimension. */
export const METRIC_FUNCTIONS = ['ingestion', 'transform', 'loader', 'parquet_loader'] as const
export type MetricFunction = (typeof METRIC_FUNCTIONS)[number]

/** Every metric starline emits, with its CloudWatch unit. */
export const METRIC_UNITS = {
  /** Rows the stage moved in this invocation. */
  RowsMoved: 'Count',
  /** Wall time of the invocation's stage. */
  RunDuration: 'Milliseconds',
  /** Now minus the newest source watermark the function has moved (the loader: the newest run in the warehouse). */
  WatermarkAge: 'Seconds',
} as const
export type MetricName = keyof typeof METRIC_UNITS

export interface MetricsRecord {
  readonly function: MetricFunction
  readonly values: Readonly<Partial<Record<MetricName, number>>>
  /** Extra searchable properties (run ids...), not metrics. They must not hold secrets. */
  readonly properties?: Readonly<Record<string, unknown>>
  readonly timestamp?: Date
}

/** The EMF document for one record. Metrics without a finite value are left out (EMF rejects a declared metric without a value). */
export function emfDocument(record: MetricsRecord): Record<string, unknown> {
  const present = (Object.keys(METRIC_UNITS) as MetricName[]).filter((name) => Number.isFinite(record.values[name]))
  return {
    ...record.properties,
    _aws: {
      Timestamp: (record.timestamp ?? new Date()).getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Function']],
          Metrics: present.map((name) => ({ Name: name, Unit: METRIC_UNITS[name] })),
        },
      ],
    },
    Function: record.function,
    ...Object.fromEntries(present.map((name) => [name, record.values[name]])),
  }
}

/** Writes one EMF line (default: stdout, which Lambda sends to CloudWatch Logs). */
export function writeMetrics(record: MetricsRecord, write: (line: string) => void = (line) => process.stdout.write(line)): void {
  write(`${JSON.stringify(emfDocument(record))}\n`)
}

/**
 * Whole seconds from a watermark to `now`, or undefined when it is missing or
 * not a time. Watermarks are the source's `timestamp` values as text
 * (`2024-11-18 09:30:00.123`, no zone): they are read as UTC.
 */
export function ageSeconds(watermark: string | null | undefined, now: Date = new Date()): number | undefined {
  if (!watermark) return undefined
  const zoned = /\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)$/i.test(watermark) ? watermark : `${watermark}Z`
  const at = Date.parse(zoned.replace(' ', 'T'))
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((now.getTime() - at) / 1000))
}
