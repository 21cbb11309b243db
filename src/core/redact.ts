/**
 * Connection strings carry passwords; nothing that is logged or shown in an
 * error may include one. These helpers keep only what identifies the target.
 */

/** `postgres://user:secret@host:5432/db?x=y` -> `postgres://user@host:5432/db`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    // Without a host the credentials may sit in the path (`postgres:/user:pw@host`): show nothing.
    if (parsed.host === '' && url.includes('@')) return '<unparseable url>'
    parsed.password = ''
    parsed.search = ''
    return parsed.toString()
  } catch {
    return '<unparseable url>'
  }
}
