import { sql, type SelectQueryBuilder } from 'kysely'
import type { Db } from './db.js'

/** ascli asks per_page=1000; we serve up to that and clamp anything outside [1, 1000]. */
export const MAX_PER_PAGE = 1000
export const DEFAULT_PER_PAGE = 100

export interface ListQuery { page?: number, per_page?: number, q?: string }

export interface Page { limit: number, offset: number }

/** Clamps page and per_page; never refuses them (docs/aoc-compatibility.md §7, §9). */
export function pageOf (query: ListQuery): Page {
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Math.trunc(query.per_page ?? DEFAULT_PER_PAGE)))
  const page = Math.max(1, Math.trunc(query.page ?? 1))
  // Past a page this far the list is empty anyway; bounding it keeps OFFSET an int4.
  return { limit: perPage, offset: Math.min((page - 1) * perPage, 2_000_000_000) }
}

/** Text with LIKE's wildcards (and its escape) taken literally. */
export function likeLiteral (text: string): string {
  return text.replace(/[\\%_]/g, (c) => '\\' + c)
}

/** A `q` term as an ILIKE substring pattern, with LIKE's wildcards taken literally. */
export function containsPattern (q: string): string {
  return '%' + likeLiteral(q) + '%'
}

/**
 * With a `q`, rows whose `columns` equal it without case sort first; the caller's stable order
 * follows. ascli resolves `%name:<value>` from the first page of `?q=<value>` alone (docs/aoc-compatibility.md §9),
 * so the exact name must be on it however many other names contain the value.
 */
export function exactMatchesFirst<DB, TB extends keyof DB, O> (
  qb: SelectQueryBuilder<DB, TB, O>, q: string | undefined, columns: readonly string[]
): SelectQueryBuilder<DB, TB, O> {
  if (!q) return qb
  const exact = sql.join(columns.map((c) => sql`lower(${sql.ref(c)}) = lower(${q})`), sql` or `)
  return qb.orderBy(sql`(${exact})`, 'desc')
}

/** A page of rows with the total for the same filter over all pages (exact or estimated: see countFor). */
export interface Listed<T> { rows: T[], total: number }

/**
 * Up to this many matching rows, X-Total-Count is exact; past it, counting every row would cost
 * hundreds of ms at a million (README.md "A million users"), so the total is the planner's estimate.
 */
export const EXACT_COUNT_LIMIT = 10_000

/** Orders a query; generic so that the same order serves the ids' query and any other. */
export type ListOrder<DB, TB extends keyof DB> = <S>(qb: SelectQueryBuilder<DB, TB, S>) => SelectQueryBuilder<DB, TB, S>

/**
 * A page of `base` (filters applied, nothing selected yet) in a stable order (`order`: created_at,
 * then id, after exact matches). Two steps, so that a deep page stays cheap: the page's ids first,
 * which the (organization_id, created_at, id) indexes answer by an index-only scan however far the
 * OFFSET, then the rows of those ids alone. An OFFSET of 499,000 over whole rows fetched half a
 * million rows from the heap (2.8 s at a million users); over the index alone it reads no heap.
 */
export async function listPage<DB, TB extends keyof DB & string, O> (
  db: Db,
  base: SelectQueryBuilder<DB, TB, object>,
  select: (qb: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, O>,
  page: Page,
  order: ListOrder<DB, TB>
): Promise<Listed<O>> {
  const id = sql.ref<string>('id')
  // One row past the page says whether another page follows.
  const found = await order(base.select(id.as('id'))).limit(page.limit + 1).offset(page.offset).execute() as Array<{ id: string }>
  const ids = found.slice(0, page.limit).map((r) => r.id)
  let rows: O[] = []
  if (ids.length > 0) {
    const byId = new Map((await select(base.where(id, 'in', ids)).execute() as Array<O & { id: string }>).map((r) => [r.id, r]))
    // A row deleted between the two statements is left out rather than shown as a hole.
    rows = ids.flatMap((i) => byId.has(i) ? [byId.get(i)!] : [])
  }
  return { rows, total: await countFor(db, base, page, found.length) }
}

/**
 * X-Total-Count for a page that found `found` rows (up to limit + 1) at `page.offset`:
 * - the last page (or page 1 of a short list) knows the total without counting: offset + rows;
 * - else up to EXACT_COUNT_LIMIT matching rows are counted, and the count is exact;
 * - past that, the planner's estimate of the filter's rows (EXPLAIN; the statistics ANALYZE
 *   keeps), raised to at least EXACT_COUNT_LIMIT + 1 and the rows through this page plus one, so
 *   that a client paging "until it has the count" (ascli) never stops while rows remain, and an
 *   estimate that is too high only costs it one empty page at the end.
 */
async function countFor<DB, TB extends keyof DB & string> (db: Db, base: SelectQueryBuilder<DB, TB, object>, page: Page, found: number): Promise<number> {
  const more = found > page.limit
  if (!more && (found > 0 || page.offset === 0)) return page.offset + found
  const capped = base.select(sql.lit(1).as('one')).limit(EXACT_COUNT_LIMIT + 1)
  const counted = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (${capped}) AS capped`.execute(db)
  const n = Number(counted.rows[0]?.n ?? 0)
  if (n <= EXACT_COUNT_LIMIT) return n
  const plan = await base.select(sql.lit(1).as('one')).explain('json') as Array<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>
  const estimate = Math.round(plan[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? 0)
  const atLeast = Math.max(EXACT_COUNT_LIMIT + 1, more ? page.offset + page.limit + 1 : 0)
  // An empty page past the end: there are no more than `offset` rows.
  return found === 0 ? Math.max(EXACT_COUNT_LIMIT + 1, Math.min(estimate, page.offset)) : Math.max(estimate, atLeast)
}
