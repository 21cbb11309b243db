/**
 * ISO 4217 currency names for dim_currency (the source stores only codes).
 * Node's ICU data knows every code, so no hand-kept list goes stale:
 * GBP -> "British Pound", USD -> "US Dollar", EUR -> "Euro".
 */
import type { Seed } from '../../schema/dataset.js'

export const ISO_CURRENCY: Seed = {
  name: 'iso_currency',
  columns: ['currency_code', 'currency_name'],
  rows() {
    const names = new Intl.DisplayNames(['en'], { type: 'currency' })
    return Intl.supportedValuesOf('currency').map((code) => [code, names.of(code) ?? code] as const)
  },
}
