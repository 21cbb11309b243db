import { StarlineError } from '../core/starline-error.js'

export class WarehouseError extends StarlineError {}

export class WarehouseUnreachableError extends WarehouseError {}

/** An existing warehouse table lacks a column, or has it with another type. */
export class WarehouseSchemaMismatchError extends WarehouseError {}

/** The data did not load: a constraint, a type, a count that did not match. */
export class WarehouseLoadError extends WarehouseError {}
