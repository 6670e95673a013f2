// A request that arrives once the app has begun to close (server.ts, after SHUTDOWN_GRACE): the
// listener is shut, but a keep-alive connection busy with an earlier request still carries the next
// one. It is shed with the documented 503 and Retry-After, in the error model of its route, not
// with fastify's own bare 503; the probes answer as ever. The test app's response check holds every
// answer to openapi.yaml.
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helpers/app.js'

t.test('a request behind one in flight when the close begins gets the documented 503', async (t) => {
  const { app } = await buildTestApp(t)
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const inside: Array<() => void> = []
  const allInside = Array.from({ length: 4 }, async () => { await new Promise<void>((resolve) => inside.push(resolve)) })
  // The test's own route (exempt from the check): it keeps a connection busy until released.
  app.get('/test/hold', async () => { inside.shift()!(); await held; return { held: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo

  /** A connection busy with GET /test/hold; `then` is sent on it once the close has begun. */
  const busy = () => {
    const socket = net.connect(port, '127.0.0.1')
    let received = ''
    socket.on('data', (c) => { received += c })
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    socket.write('GET /test/hold HTTP/1.1\r\nHost: localhost\r\n\r\n')
    return { socket, answers: async () => { await ended; return received.split(/(?=HTTP\/1\.1 \d{3} )/) } }
  }
  const [oauth, rest, live, ready] = [busy(), busy(), busy(), busy()]
  await Promise.all(allInside)
  const closed = app.close()
  // The close runs its preClose hooks on a later tick.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const form = 'grant_type=password'
  oauth.socket.write(`POST /api/v1/oauth2/nosuchorg/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${form.length}\r\n\r\n${form}`)
  rest.socket.write('GET /api/v1/self HTTP/1.1\r\nHost: localhost\r\n\r\n')
  live.socket.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n')
  ready.socket.write('GET /health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n')
  await new Promise((resolve) => setTimeout(resolve, 50))
  release()

  const parse = (a: string) => {
    const [head, body] = a.split('\r\n\r\n') as [string, string]
    return { status: Number(head.slice(9, 12)), head: head.toLowerCase(), body }
  }
  const [oauthHeld, oauthShed] = (await oauth.answers()).map(parse)
  const [restHeld, restShed] = (await rest.answers()).map(parse)
  const [, liveAnswer] = (await live.answers()).map(parse)
  const [, readyAnswer] = (await ready.answers()).map(parse)
  await closed
  t.same([oauthHeld?.status, restHeld?.status], [200, 200], 'the requests in flight are answered')
  t.equal(oauthShed?.status, 503, 'the one behind it is shed')
  t.match(oauthShed?.head, /\r\nretry-after: \d+/)
  t.match(oauthShed?.head, /\r\nx-request-id: /)
  t.match(JSON.parse(oauthShed?.body ?? '{}'), { error: 'temporarily_unavailable', error_description: 'the server is stopping; retry later' }, 'in OAuth\'s words on the token endpoint')
  t.equal(restShed?.status, 503)
  t.match(restShed?.head, /\r\nretry-after: \d+/)
  t.match(JSON.parse(restShed?.body ?? '{}'), { code: 'service_unavailable', message: 'the server is stopping; retry later' }, 'in the REST model on the API')
  t.equal(liveAnswer?.status, 200, 'liveness still answers 200')
  t.equal(readyAnswer?.status, 503)
  t.match(JSON.parse(readyAnswer?.body ?? '{}'), { status: 'unavailable', reason: 'draining' }, 'readiness says draining, in its own body')
})

t.test('a keep-alive connection whose request was in flight when the close began does not hold the close', async (t) => {
  const { app } = await buildTestApp(t)
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let entered!: () => void
  const inside = new Promise<void>((resolve) => { entered = resolve })
  app.get('/test/hold', async () => { entered(); await held; return { held: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // A client that never hangs up on its own, as undici does not for ~70 s after a keep-alive answer.
  const socket = net.connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (c) => { received += c })
  const hungUp = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write('GET /test/hold HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n')
  await inside
  const closed = app.close().then(() => 'closed')
  await new Promise((resolve) => setTimeout(resolve, 50))
  release()
  const outcome = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open after 10 s'), 10_000))])
  t.equal(outcome, 'closed', 'the close ends once the answer is out, without the client hanging up')
  await hungUp
  t.match(received, /^HTTP\/1\.1 200 /, 'the request in flight was answered')
  t.ok(socket.destroyed, 'and the server closed the connection')
})
