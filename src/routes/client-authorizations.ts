import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Placeholder: routes for this resource are being written. */
const routes: FastifyPluginAsyncTypebox = async (_app) => {}

export default routes
