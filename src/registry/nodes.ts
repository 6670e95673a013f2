// Nodes: validation of their fields (URL, access key). The rows are store/nodes.ts's.
import type { Node } from '../db/schema.js'
import { isUniqueViolation } from '../db/errors.js'
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js'
import type { Db } from '../store/db.js'
import * as store from '../store/nodes.js'
import type { ListQuery, Listed } from '../store/paging.js'

/** The fields of a node that a caller sets. */
export interface NodeFields {
  name?: string
  url?: string
  access_key?: string
}

/**
 * An access key goes into scopes (`node.<access_key>:user:all`), so it must not hold a space or a
 * colon; and not be only dots, which a node or a proxy may take for a path (`.`, `..`).
 */
export const ACCESS_KEY_PATTERN_SOURCE = '^(?!\\.+$)[A-Za-z0-9._-]{1,128}$'
export const ACCESS_KEY_PATTERN = new RegExp(ACCESS_KEY_PATTERN_SOURCE)

/** A node's URL: absolute, http or https, without credentials. */
export function checkNodeUrl (value: string, param = 'url'): string {
  let url: URL
  try { url = new URL(value) } catch { throw new InvalidParameterError(param, `${param} must be an absolute http(s) URL`) }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
    throw new InvalidParameterError(param, `${param} must be an absolute http(s) URL`)
  }
  // Credentials in a stored URL would be shown to every admin who lists nodes.
  if (url.username || url.password) throw new InvalidParameterError(param, `${param} must not carry credentials`)
  return value
}

/** An access key: 1 to 128 characters of A-Z, a-z, 0-9, `.`, `_` and `-`, not only dots. */
export function checkAccessKey (value: string, param = 'access_key'): string {
  if (!ACCESS_KEY_PATTERN.test(value)) {
    throw new InvalidParameterError(param, `${param} must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-', not only dots`)
  }
  return value
}

function checkedFields (fields: NodeFields): NodeFields {
  const out: NodeFields = {}
  if (fields.name !== undefined) out.name = fields.name
  if (fields.url !== undefined) out.url = checkNodeUrl(fields.url)
  if (fields.access_key !== undefined) out.access_key = checkAccessKey(fields.access_key)
  return out
}

function conflictOnAccessKey (err: unknown): never {
  if (isUniqueViolation(err)) throw new ConflictError('a node with this access key already exists in the organization', 'access_key')
  throw err
}

/** Registers a node; its access key is unique in the organization (409 otherwise). */
export async function createNode (db: Db, orgId: string, fields: Required<NodeFields>): Promise<Node> {
  const values = checkedFields(fields) as Required<NodeFields>
  try {
    return await store.insertNode(db, orgId, values)
  } catch (err) { return conflictOnAccessKey(err) }
}

/** The node of this organization with this id; another organization's is a NotFoundError. */
export async function getNode (db: Db, orgId: string, id: string): Promise<Node> {
  const node = await store.findNode(db, orgId, id)
  if (!node) throw new NotFoundError('node')
  return node
}

/** A page of the organization's nodes; `q` is a substring of the name, without case. */
export async function listNodes (db: Db, orgId: string, query: ListQuery): Promise<Listed<Node>> {
  return await store.listNodes(db, orgId, query)
}

/** Changes the given fields; an access key taken by another node is a ConflictError. */
export async function updateNode (db: Db, orgId: string, id: string, fields: NodeFields): Promise<void> {
  const values = checkedFields(fields)
  try {
    if (!await store.updateNodeRow(db, orgId, id, values)) throw new NotFoundError('node')
  } catch (err) { conflictOnAccessKey(err) }
}

/** Removes the node. */
export async function deleteNode (db: Db, orgId: string, id: string): Promise<void> {
  if (!await store.deleteNodeRow(db, orgId, id)) throw new NotFoundError('node')
}
