/**
 * Find the schema that governs one config path, so that error messages can list the keys a
 * mapping accepts, an integer's range, or a field's hint. The data picks the union member
 * (e.g. the virtual service whose `protocol` matches).
 */
import { z } from 'zod';
import { type ProblemHint, problemHints } from './hints.ts';
import type { PathSegment } from './problem.ts';

/** The schemas at `path`, outermost wrapper (default, pipe, union) first, core type last. */
export function schemaLayersAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): z.ZodType[] {
  let value = data;
  let layers = unwrap(root, value);
  for (const segment of path) {
    const core = layers.at(-1);
    let next: z.ZodType | undefined;
    if (core instanceof z.ZodObject) next = (core.shape as Record<string, z.ZodType>)[String(segment)];
    else if (core instanceof z.ZodArray && typeof segment === 'number') next = core.element as z.ZodType;
    if (next === undefined) return [];
    value = childValue(value, segment);
    layers = unwrap(next, value);
  }
  return layers;
}

export function hintAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): ProblemHint | undefined {
  for (const layer of schemaLayersAt(root, path, data)) {
    const hint = problemHints.get(layer);
    if (hint !== undefined) return hint;
  }
  return undefined;
}

/** The keys a mapping at `path` accepts, in schema order. */
export function keysAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): string[] | undefined {
  const core = schemaLayersAt(root, path, data).at(-1);
  return core instanceof z.ZodObject ? Object.keys(core.shape) : undefined;
}

/** "an integer 1..65535" for a bounded number at `path`. */
export function rangeAt(root: z.ZodType, path: readonly PathSegment[], data: unknown): string | undefined {
  const core = schemaLayersAt(root, path, data).at(-1);
  if (!(core instanceof z.ZodNumber)) return undefined;
  const kind = core.isInt ? 'an integer' : 'a number';
  const { minValue, maxValue } = core;
  if (minValue === null || maxValue === null || !Number.isFinite(minValue) || !Number.isFinite(maxValue)) return kind;
  return `${kind} ${minValue}..${maxValue}`;
}

export function childValue(value: unknown, segment: PathSegment): unknown {
  if (Array.isArray(value) && typeof segment === 'number') return value[segment];
  if (isRecord(value)) return value[String(segment)];
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unwrap(schema: z.ZodType, value: unknown): z.ZodType[] {
  const layers: z.ZodType[] = [];
  let current: z.ZodType | undefined = schema;
  while (current !== undefined) {
    layers.push(current);
    current = current instanceof z.ZodUnion ? pickMember(current, value) : inner(current);
  }
  return layers;
}

function inner(schema: z.ZodType): z.ZodType | undefined {
  if (
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable
  ) {
    return schema.unwrap() as z.ZodType;
  }
  if (schema instanceof z.ZodPipe) return schema.in as z.ZodType;
  return undefined;
}

function core(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let next = inner(current); next !== undefined; next = inner(current)) current = next;
  return current;
}

/** The object member whose literal keys (the discriminator) match the data, else the first object member. */
function pickMember(union: z.ZodUnion, value: unknown): z.ZodType | undefined {
  if (!isRecord(value)) return undefined;
  const objects = (union.options as readonly z.ZodType[]).filter((option) => core(option) instanceof z.ZodObject);
  const matches = (option: z.ZodType): boolean =>
    Object.entries((core(option) as z.ZodObject).shape as Record<string, z.ZodType>).every(([key, field]) => {
      const literal = core(field);
      return !(literal instanceof z.ZodLiteral) || !(key in value) || literal.values.has(value[key] as never);
    });
  return objects.find(matches) ?? objects[0];
}
