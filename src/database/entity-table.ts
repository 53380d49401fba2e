import { ReferenceKind, type EntityClass, type EntityProperty, type MetadataStorage } from '@mikro-orm/core';

/**
 * What a row of an entity's table reads as in the data layer: the entity's own
 * properties and types, except that timestamps stay the ISO 8601 strings the
 * database formats (with microseconds, which cursors need), so nothing is
 * parsed into a Date only to be formatted back. Derived from the entity, so a
 * new column needs no row interface of its own.
 */
export type EntityRecord<T> = {
  -readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: T[K] extends Date
    ? string
    : T[K] extends Date | null
      ? string | null
      : T[K];
};

/** A property of the entity that is a column of its table. */
export type Column<T> = keyof EntityRecord<T> & string;

/** Where a statement piece writes its placeholders; any statement using at least these names will do. */
export interface Params<N extends string> {
  $(name: N, cast?: string): string;
}

/**
 * Named placeholders for one statement: `$('owner')` is `$1` wherever it is
 * used, and `values({ owner, … })` lists the bound values in placeholder
 * order, so no statement numbers its placeholders by hand or depends on how
 * many columns come before them.
 */
export class Placeholders<N extends string> implements Params<N> {
  private readonly order: N[] = [];

  $(name: N, cast?: string): string {
    let index = this.order.indexOf(name);
    if (index < 0) index = this.order.push(name) - 1;
    return cast ? `$${index + 1}::${cast}` : `$${index + 1}`;
  }

  values(args: Record<N, unknown>): unknown[] {
    return this.order.map((name) => args[name]);
  }
}

/** One SQL statement: its text, fixed once built, and the values bound to it ($1, $2, …). */
export interface Statement {
  text: string;
  values: unknown[];
  /**
   * False for a statement that must be planned for its values every time:
   * it runs unnamed rather than as a prepared statement, which PostgreSQL may
   * run with a generic plan.
   */
  prepared?: boolean;
}

/** A statement whose text is fixed once built, with named values to bind on each call. */
export class Prepared<N extends string> {
  constructor(
    readonly text: string,
    private readonly params: Placeholders<N>,
  ) {}

  bind(args: Record<N, unknown>): Statement {
    return { text: this.text, values: this.params.values(args) };
  }
}

/** Builds a statement's text once, with its placeholders named. */
export function prepared<N extends string>(build: (p: Placeholders<N>) => string): Prepared<N> {
  const params = new Placeholders<N>();
  return new Prepared(build(params), params);
}

/**
 * Statements whose text depends on a small, bounded set of choices (the
 * shape): each is built on first use and kept, so nothing is compiled per call.
 */
export function shapes<N extends string>(
  build: (shape: string, p: Placeholders<N>) => string,
): (shape: string) => Prepared<N> {
  const built = new Map<string, Prepared<N>>();
  return (shape) => {
    let statement = built.get(shape);
    if (!statement) {
      statement = prepared<N>((p) => build(shape, p));
      built.set(shape, statement);
    }
    return statement;
  };
}

/**
 * An entity's table as SQL pieces, built once from MikroORM's metadata (the
 * entity decorators): quoted column names by property, and the select list
 * that returns a row already shaped as the entity's record. The repositories
 * write their statements with these pieces, so no column name is spelled out
 * by hand and a misspelt property fails the type check.
 */
export class EntityTable<T extends object> {
  readonly table: string;
  /** Every persisted property, in declaration order (lazy ones excepted: they are never read back). */
  readonly columns: readonly Column<T>[];
  private readonly props = new Map<string, EntityProperty>();

  constructor(metadata: MetadataStorage, entity: EntityClass<T>) {
    const meta = metadata.get(entity);
    this.table = quote(meta.tableName);
    const columns: Column<T>[] = [];
    // A scalar that is not persisted itself but names one column of a
    // composite reference ((user_id, list_id) → lists) is that column.
    const referenced = new Set(
      meta.props.filter((p) => p.persist !== false).flatMap((p) => p.fieldNames ?? []),
    );
    for (const prop of meta.props) {
      if (prop.fieldNames?.length !== 1 || prop.kind !== ReferenceKind.SCALAR) continue;
      if (prop.persist === false && !referenced.has(prop.fieldNames[0])) continue;
      this.props.set(prop.name, prop);
      if (!prop.lazy) columns.push(prop.name as Column<T>);
    }
    this.columns = columns;
  }

  /** The quoted column of a property: `"user_id"`. */
  column(prop: Column<T>): string {
    return quote(this.prop(prop).fieldNames[0]);
  }

  /** The column qualified by a table alias: `t."user_id"`. */
  ref(prop: Column<T>, alias: string): string {
    return `${alias}.${this.column(prop)}`;
  }

  /**
   * Every column, each named after its property and converted to the record's
   * type: timestamps as ISO 8601 UTC strings with microseconds (independent of
   * the session's TimeZone and DateStyle), dates as `YYYY-MM-DD`, times as `HH:MM`.
   */
  selectList(alias: string, props: readonly Column<T>[] = this.columns): string {
    return props.map((prop) => `${this.read(prop, alias)} as ${quote(prop)}`).join(', ');
  }

  /** One column as the record holds it, by the column's SQL type. */
  read(prop: Column<T>, alias: string): string {
    const ref = this.ref(prop, alias);
    const type = this.prop(prop).columnTypes[0];
    if (type.startsWith('timestamptz'))
      return `to_char(${ref} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    if (type === 'date') return `to_char(${ref}, 'YYYY-MM-DD')`;
    if (/^time\b(?! with)/.test(type) && !type.startsWith('timestamp')) return `to_char(${ref}, 'HH24:MI')`;
    return ref;
  }

  /**
   * A bound value cast to the column's SQL type, as MikroORM declares it, but
   * without its length or precision: `$3::varchar`, not `$3::varchar(255)`,
   * since an explicit cast to a length silently cuts the value, where storing
   * it into the column refuses it (22001).
   */
  cast(prop: Column<T>, placeholder: string): string {
    const p = this.prop(prop);
    const type = p.nativeEnumName
      ? quote(p.nativeEnumName)
      : p.columnTypes[0].replace(/\(\d+(,\s*\d+)?\)/, '');
    return `${placeholder}::${type}`;
  }

  private prop(name: string): EntityProperty {
    const prop = this.props.get(name);
    if (!prop) throw new Error(`${this.table} has no column for property ${name}`);
    return prop;
  }
}

function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
