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

/** Every URL inside a text reduced to scheme, host and path: for reasons that may quote a connection string. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"']+/gi, (url) => {
    try {
      const parsed = new URL(url)
      return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
    } catch {
      return '<url>'
    }
  })
}
