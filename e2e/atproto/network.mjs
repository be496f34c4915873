// A real local AT Protocol network (PLC, PDS, AppView, with bsync and ozone as dev-env builds
// them) for scripts/e2e_atproto.py. Every server listens on 127.0.0.1 only. Prints one JSON line
// with the URLs once it is up, then runs until SIGTERM/SIGINT, when it closes the network.
//
//   DB_POSTGRES_URL=postgresql://... REDIS_HOST=127.0.0.1:PORT node network.mjs PLC PDS BSKY
import net from 'node:net'

// dev-env starts its servers with listen(port): all interfaces. Loopback only, here.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  const [first] = args
  if (first && typeof first === 'object' && !Array.isArray(first)) {
    if (first.path === undefined && (!first.host || ['0.0.0.0', '::'].includes(first.host))) {
      args[0] = { ...first, host: '127.0.0.1' }
    }
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] !== 'string' || ['0.0.0.0', '::'].includes(args[1])) {
      if (typeof args[1] === 'string') args.splice(1, 1)
      args.splice(1, 0, '127.0.0.1')
    }
  } else if (first === undefined || typeof first === 'function') {
    args.unshift(0, '127.0.0.1')
  }
  return listen.apply(this, args)
}

const { TestNetwork } = await import('@atproto/dev-env')

const [plcPort, pdsPort, bskyPort] = process.argv.slice(2).map(Number)
const started = Date.now()
const network = await TestNetwork.create({
  dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA || "socialops",
  plc: { port: plcPort },
  pds: { port: pdsPort, hostname: 'localhost' },
  bsky: { port: bskyPort, publicUrl: `http://localhost:${bskyPort}` },
})

console.log(
  JSON.stringify({
    ready: true,
    seconds: (Date.now() - started) / 1000,
    plc: network.plc.url,
    pds: network.pds.url,
    appview: network.bsky.url,
    appviewDid: network.bsky.ctx.cfg.serverDid,
  }),
)

let closing = false
const close = async () => {
  if (closing) return
  closing = true
  try {
    await network.close()
  } catch (err) {
    console.error('closing the network:', err)
  }
  process.exit(0)
}
process.on('SIGTERM', close)
process.on('SIGINT', close)
setInterval(() => {}, 1 << 30)
