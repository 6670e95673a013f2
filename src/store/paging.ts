import { sql, type SelectQueryBuilder } from 'kysely'

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

/** A `q` term as an ILIKE substring pattern, with LIKE's wildcards taken literally. */
export function containsPattern (q: string): string {
  return '%' + q.replace(/[\\%_]/g, (c) => '\\' + c) + '%'
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

/** A page of rows with the total for the same filter over all pages. */
export interface Listed<T> { rows: T[], total: number }

/**
 * Runs `base` (filters applied, nothing selected yet) twice: once for the count and once for the
 * page, in a stable order (created_at, then id).
 */
export async function listPage<DB, TB extends keyof DB & string, O> (
  base: SelectQueryBuilder<DB, TB, object>,
  select: (qb: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, O>,
  page: Page,
  order: (qb: SelectQueryBuilder<DB, TB, O>) => SelectQueryBuilder<DB, TB, O>
): Promise<Listed<O>> {
  const countRow = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow() as { n: number | string }
  const rows = await order(select(base)).limit(page.limit).offset(page.offset).execute()
  return { rows: rows as O[], total: Number(countRow.n) }
}
