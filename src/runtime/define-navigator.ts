/**
 * Node 20 has no `navigator` global (Node 21 added one). pg asks for it
 * when it loads, to tell whether it runs in a Cloudflare Worker; without it,
 * pg builds a fetch `Response` to find out, which loads Node's whole fetch
 * implementation (undici): about 60 ms of CPU at every start of `starline`,
 * a large part of an idle cycle, for a question whose answer here is no.
 * Defining what Node 21 and later define (a `navigator` whose user agent
 * names Node.js) answers it at once. Imported first by the entry point, so
 * it runs before pg is loaded.
 */
export function defineNavigator(): void {
  const global = globalThis as { navigator?: unknown }
  if (global.navigator !== undefined) return
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.freeze({ userAgent: `Node.js/${process.versions.node.split('.')[0]}` }),
    configurable: true,
    writable: true,
  })
}

defineNavigator()
