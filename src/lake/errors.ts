import { StarlineError, type StarlineErrorOptions } from '../core/starline-error.js'

export class LakeError extends StarlineError {}

export class ObjectExistsError extends LakeError {
  constructor(root: string, key: string, options: StarlineErrorOptions = {}) {
    super(
      `Cannot write "${key}" in ${root}: the object already exists and lake objects are immutable. ` +
        'A run never reuses a key; if this is a crashed run\'s leftover, run the stage again to clean it up.',
      { ...options, context: { key, ...options.context } },
    )
  }
}

export class ObjectNotFoundError extends LakeError {
  constructor(root: string, key: string, options: StarlineErrorOptions = {}) {
    super(`Object "${key}" is missing from ${root}. Check the lake URL, or whether the object was removed by hand.`, {
      ...options,
      context: { key, ...options.context },
    })
  }
}

export class InvalidKeyError extends LakeError {}

export class ManifestError extends LakeError {}

/** Another runner holds the stage's lease. */
export class LeaseHeldError extends LakeError {}

/** What the lake holds no longer matches what a manifest published (terminal: retrying reads the same bytes). */
export class IntegrityError extends LakeError {}
