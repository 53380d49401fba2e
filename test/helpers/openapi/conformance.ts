/**
 * Just enough of OpenAPI 3.0 schema validation to check real responses (and the
 * document's own examples) against the served document: $ref, allOf, oneOf, type,
 * nullable, enum, format (uuid, date, date-time), pattern, lengths, bounds,
 * items and their count and uniqueness, properties, required, minProperties and
 * additionalProperties. An object may not carry a property its schema does not
 * declare unless the schema allows more: the contract lists every field ("exactly
 * these fields, nothing more").
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
// The document is whatever the service serves: walked as untyped JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpenApiDocument = any;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Follows a local `$ref` (`#/components/schemas/Task`). */
export function deref(doc: OpenApiDocument, node: OpenApiDocument): OpenApiDocument {
  let current = node;
  while (current && typeof current.$ref === 'string') {
    const ref: string = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`Only local $refs are supported: ${ref}`);
    current = ref
      .slice(2)
      .split('/')
      .reduce((at: OpenApiDocument, key) => at?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
    if (current === undefined) throw new Error(`Dangling $ref ${ref}`);
  }
  return current;
}

function typeOf(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * The schema with its `$ref` followed and its `allOf` members merged into it
 * (their properties and required lists joined), which is how @nestjs/swagger
 * writes a nullable reference: `{ nullable: true, allOf: [{ $ref }] }`.
 */
export function flatten(doc: OpenApiDocument, schemaOrRef: OpenApiDocument): OpenApiDocument {
  const { allOf, ...schema } = deref(doc, schemaOrRef);
  if (!Array.isArray(allOf)) return schema;
  // The outer schema's own keywords win (its nullable above all: a member's cannot make it nullable).
  const parts = [...allOf.map((member: OpenApiDocument) => flatten(doc, member)), schema];
  return parts.reduce(
    (merged: OpenApiDocument, { nullable: _nullable, properties, required, ...rest }: OpenApiDocument) => ({
      ...merged,
      ...rest,
      properties: { ...merged.properties, ...properties },
      required: [...new Set([...merged.required, ...(required ?? [])])],
    }),
    { properties: {}, required: [], ...(schema.nullable === undefined ? {} : { nullable: schema.nullable }) },
  );
}

/** Every way `value` breaks `schema`, as `path: reason` lines (empty when it conforms). */
export function schemaViolations(
  doc: OpenApiDocument,
  schemaOrRef: OpenApiDocument,
  value: Json,
  at = '$',
): string[] {
  const schema = flatten(doc, schemaOrRef);
  if (value === null) return schema.nullable === true ? [] : [`${at}: null, but the schema is not nullable`];
  if (Array.isArray(schema.oneOf)) {
    const matching = (schema.oneOf as OpenApiDocument[]).filter(
      (member) => schemaViolations(doc, member, value, at).length === 0,
    ).length;
    return matching === 1 ? [] : [`${at}: matches ${matching} of the oneOf schemas, not exactly one`];
  }
  const actual = typeOf(value);
  const expected: string | undefined = schema.type;
  if (expected && actual !== expected && !(expected === 'number' && actual === 'integer')) {
    return [`${at}: ${actual}, expected ${expected}`];
  }
  const problems: string[] = [];
  if (schema.enum && !schema.enum.includes(value))
    problems.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      problems.push(`${at}: shorter than minLength`);
    if (schema.maxLength !== undefined && length > schema.maxLength)
      problems.push(`${at}: longer than maxLength`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      problems.push(`${at}: does not match ${schema.pattern}`);
    if (schema.format === 'uuid' && !UUID.test(value)) problems.push(`${at}: not a uuid`);
    if (schema.format === 'date' && !DATE.test(value)) problems.push(`${at}: not a date`);
    if (schema.format === 'date-time' && !DATE_TIME.test(value)) problems.push(`${at}: not a date-time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: below minimum`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: above maximum`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push(`${at}: fewer than minItems`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      problems.push(`${at}: more than maxItems`);
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length)
      problems.push(`${at}: items are not unique`);
    if (schema.items) {
      value.forEach((item, i) => problems.push(...schemaViolations(doc, schema.items, item, `${at}[${i}]`)));
    }
  }
  if (actual === 'object') {
    const object = value as { [key: string]: Json };
    const properties: Record<string, OpenApiDocument> = schema.properties ?? {};
    for (const name of schema.required ?? []) {
      if (!(name in object)) problems.push(`${at}.${name}: required but missing`);
    }
    if (schema.minProperties !== undefined && Object.keys(object).length < schema.minProperties)
      problems.push(`${at}: fewer than minProperties`);
    for (const [name, member] of Object.entries(object)) {
      if (properties[name])
        problems.push(...schemaViolations(doc, properties[name], member, `${at}.${name}`));
      else if (typeof schema.additionalProperties === 'object')
        problems.push(...schemaViolations(doc, schema.additionalProperties, member, `${at}.${name}`));
      else if (schema.additionalProperties !== true)
        problems.push(`${at}.${name}: not declared by the schema`);
    }
  }
  return problems;
}
