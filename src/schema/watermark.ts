/** The range of the watermark column an extract covered: `from < value <= to`. */
export interface WatermarkRange {
  readonly column: string
  /** Exclusive lower bound; null on the first (full) run. */
  readonly from: string | null
  /** Inclusive upper bound. */
  readonly to: string
}
