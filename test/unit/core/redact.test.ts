import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { redactUrl } from '../../../src/core/redact.js'

describe('redactUrl', () => {
  it('removes the password and keeps user, host, port and database', () => {
    assert.equal(redactUrl('postgres://user:secret@db.example:5432/warehouse'), 'postgres://user@db.example:5432/warehouse')
  })

  it('removes the query string, which can carry a password', () => {
    const redacted = redactUrl('postgres://user@host:5432/db?sslmode=require&password=secret')
    assert.equal(redacted, 'postgres://user@host:5432/db')
  })

  it('removes a password that needs percent-encoding', () => {
    const redacted = redactUrl('postgresql://user:p%40ss%3Aw0rd@host/db')
    assert.equal(redacted, 'postgresql://user@host/db')
    assert.doesNotMatch(redacted, /p%40ss|w0rd/)
  })

  it('removes a password given without a user name', () => {
    const redacted = redactUrl('postgres://:secret@host/db')
    assert.doesNotMatch(redacted, /secret/)
    assert.match(redacted, /host\/db$/)
  })

  it('leaves a URL without credentials unchanged', () => {
    assert.equal(redactUrl('file:///var/lake/ingestion'), 'file:///var/lake/ingestion')
    assert.equal(redactUrl('postgres://host:5432/db'), 'postgres://host:5432/db')
  })

  it('returns a placeholder for text that is not a URL, without echoing it', () => {
    for (const garbage of ['', 'not a url', 'host=db password=secret', '://secret', 'http://[::1']) {
      const redacted = redactUrl(garbage)
      assert.equal(redacted, '<unparseable url>', `redaction of ${JSON.stringify(garbage)}`)
    }
  })

  it('keeps the password out of a connection string with a mistyped scheme', () => {
    // Such strings parse as URLs of another shape, whose "path" still holds user:password@host.
    for (const typo of ['postgres:/user:secret@host/db', 'postgres:user:secret@host/db', 'user:secret@host:5432/db']) {
      const redacted = redactUrl(typo)
      assert.doesNotMatch(redacted, /secret/, `redaction of ${JSON.stringify(typo)} gave ${JSON.stringify(redacted)}`)
    }
  })
})
