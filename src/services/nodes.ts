// Nodes' changes with their audit events.
import type { Node } from '../db/schema.js'
import { changesOf, type AuditSource } from '../registry/audit-events.js'
import * as nodes from '../registry/nodes.js'
import type { Db } from '../store/db.js'
import { audited } from './audit.js'

const FIELDS = ['name', 'url', 'access_key'] as const
const targetOf = (n: { id: string, name: string }) => ({ type: 'node', id: n.id, name: n.name })

export async function createNode (db: Db, src: AuditSource, fields: Required<nodes.NodeFields>): Promise<Node> {
  return await audited(db, src, async (trx, audit) => {
    const created = await nodes.createNode(trx, src.organizationId!, fields)
    await audit({ eventType: 'node.created', target: targetOf(created), changes: changesOf(undefined, created, FIELDS) })
    return created
  })
}

export async function updateNode (db: Db, src: AuditSource, id: string, fields: nodes.NodeFields): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await nodes.getNode(trx, src.organizationId!, id)
    await nodes.updateNode(trx, src.organizationId!, id, fields)
    const after = await nodes.getNode(trx, src.organizationId!, id)
    await audit({ eventType: 'node.updated', target: targetOf(after), changes: changesOf(before, after, FIELDS.filter((f) => f in fields)) })
  })
}

export async function deleteNode (db: Db, src: AuditSource, id: string): Promise<void> {
  await audited(db, src, async (trx, audit) => {
    const before = await nodes.getNode(trx, src.organizationId!, id)
    await nodes.deleteNode(trx, src.organizationId!, id)
    await audit({ eventType: 'node.deleted', target: targetOf(before) })
  })
}
