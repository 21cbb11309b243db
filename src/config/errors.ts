import { StarlineError } from '../starline-error.js'

/** A setting is missing or invalid. The message names the setting. */
export class ConfigError extends StarlineError {}
