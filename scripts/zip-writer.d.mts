/** CRC-32 (ISO 3309, as ZIP uses it). */
export function crc32(bytes: Uint8Array): number
/** Builds a ZIP archive; names are `/`-separated paths, directories implied. */
export function writeZip(entries: readonly { name: string; data: Buffer; mode?: number }[], options?: { level?: number }): Buffer
