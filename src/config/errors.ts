import { StarlineError } from '../core/starline-error.js'

/** A setting is missing or invalid. The message names the setting. */
export class ConfigError extends StarlineError {}

/** A secret could not be read from the secret store, or its value has the wrong shape. Never holds the value. */
export class SecretError extends ConfigError {}
