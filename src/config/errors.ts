import { StarlineError } from '../core/starline-error.js'

/** A setting is missing or invalid. The message names the setting. */
export class ConfigError extends StarlineError {}
