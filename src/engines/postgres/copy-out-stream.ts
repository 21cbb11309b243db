/**
 * `COPY ... TO STDOUT` as a Readable of the payload bytes, submitted to a
 * `pg` client like pg-copy-streams' `to()` (the same hand-over of the
 * connection's socket), with CopyDataParser doing the parsing.
 */
import { Readable } from 'node:stream'
import type { Socket } from 'node:net'
import { CopyDataParser } from './copy-data-parser.js'

/** What `pg` hands a submittable: the connection, whose socket we read while the COPY runs. */
interface PgConnection {
  readonly stream: Socket
  query(text: string): void
}

type DataHandler = (chunk: Buffer) => void

/** A submittable query: `client.query(new CopyOutStream(sql))`. `rowCount` is set once the COPY completes. */
export class CopyOutStream extends Readable {
  readonly text: string
  rowCount = 0
  #connection: PgConnection | undefined
  #driverHandler: DataHandler | undefined
  readonly #parser = new CopyDataParser()
  #wanted = false
  #forwarding = false
  readonly #onReadable = (): void => this.#forward()

  constructor(text: string) {
    super()
    this.text = text
  }

  /** Called by `pg` when the query's turn comes: take the socket from the driver, then send the query. */
  submit(connection: PgConnection): void {
    this.#connection = connection
    const socket = connection.stream
    const listeners = socket.listeners('data') as DataHandler[]
    if (listeners.length !== 1) throw new Error(`CopyOutStream: expected one data listener on the connection, found ${listeners.length}`)
    this.#driverHandler = listeners[0]
    socket.removeListener('data', this.#driverHandler!)
    socket.pause()
    socket.on('readable', this.#onReadable)
    connection.query(this.text)
    this.#forward()
  }

  override _read(): void {
    this.#wanted = true
    this.#forward()
  }

  /** Reads the socket while the consumer wants more (backpressure reaches the server through TCP). */
  #forward(): void {
    if (this.#forwarding || !this.#wanted || this.#connection === undefined || this.#parser.ended) return
    this.#forwarding = true
    const socket = this.#connection.stream
    while (this.#wanted && !this.#parser.ended) {
      const chunk = socket.read() as Buffer | null
      if (chunk === null) break
      const { data, rest } = this.#parser.parse(chunk)
      if (data.length > 0) this.#wanted = this.push(data)
      if (rest !== undefined) this.#handBack(rest)
    }
    this.#forwarding = false
  }

  /** Gives the socket back to the driver with the bytes after the data (CommandComplete, or the error). */
  #handBack(rest: Buffer): void {
    const socket = this.#connection!.stream
    socket.removeListener('readable', this.#onReadable)
    socket.addListener('data', this.#driverHandler!)
    this.#driverHandler!(rest)
    // The driver's handler may pause the socket; it must flow again once this tick is over.
    process.nextTick(() => socket.resume())
  }

  /**
   * Destroyed before the COPY ended (its consumer failed, e.g. the lake upload): the server goes on sending
   * rows nobody reads, and the connection can serve nothing else until it stops, so a ROLLBACK or COMMIT
   * queued behind it would wait for ever. Closing the socket ends the COPY; whoever waits gets a
   * connection error at once.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#connection !== undefined && !this.#parser.ended) this.#connection.stream.destroy()
    callback(error)
  }

  /** `pg`: the server reported an error (the driver parsed the ErrorResponse we handed back). */
  handleError(error: Error): void {
    this.destroy(error)
  }

  /** `pg`: `COPY <n>`; the stream ends only now, so `rowCount` is set for whoever waits for the end. */
  handleCommandComplete(message: { readonly text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(message?.text ?? '')
    if (match) this.rowCount = Number.parseInt(match[1]!, 10)
    this.push(null)
  }

  handleReadyForQuery(): void {}
}
