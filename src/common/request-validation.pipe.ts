import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { validateSync, type ValidationError as ClassValidatorError } from 'class-validator';
import { ValidationError, type FieldProblem } from '../database/data-layer.errors.js';

type Dto = new () => object;

/**
 * Validates @Body() and @Query() against their DTO classes with class-validator.
 * Unlike Nest's ValidationPipe it never runs class-transformer over the input:
 * the DTO is filled one level deep, so a deeply nested body cannot exhaust the
 * stack, and values keep their JSON types (no "true" → true coercion). Unknown
 * fields are refused; every problem is reported with its field.
 */
@Injectable()
export class RequestValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const { type, metatype } = metadata;
    if ((type !== 'body' && type !== 'query') || !isDto(metatype)) return value;
    const where = type === 'body' ? 'body' : 'query';
    if (value === undefined && type === 'query') value = {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw ValidationError.field(where, 'must be a JSON object');
    }
    // Keys that name Object.prototype members (constructor, toString, …) would
    // shadow what class-validator itself calls on the DTO: refuse them up front.
    const inherited = Object.keys(value).filter((key) => key in Object.prototype);
    if (inherited.length > 0) {
      throw new ValidationError(inherited.map((field) => ({ field, message: 'is not allowed' })));
    }
    const dto: Record<string, unknown> = new metatype() as Record<string, unknown>;
    const entries = Object.entries(value);
    // Most requests have no query at all (a read, a first page): the verdict on
    // an empty input depends only on the class, so it is worked out once.
    if (entries.length === 0 && validWhenEmpty(metatype)) return dto;
    for (const [key, v] of entries) dto[key] = v;
    // forbidUnknownValues would refuse every instance of a class without rules
    // (NoQuery); the value is known to be a plain object here anyway.
    const errors = validateSync(dto, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
    });
    if (errors.length > 0) throw new ValidationError(errors.map(toProblem));
    return dto;
  }
}

const emptyIsValid = new WeakMap<Dto, boolean>();
function validWhenEmpty(metatype: Dto): boolean {
  let valid = emptyIsValid.get(metatype);
  if (valid === undefined) {
    valid = validateSync(new metatype(), { forbidUnknownValues: false }).length === 0;
    emptyIsValid.set(metatype, valid);
  }
  return valid;
}

function isDto(metatype: unknown): metatype is Dto {
  return (
    typeof metatype === 'function' && ![String, Boolean, Number, Array, Object].includes(metatype as never)
  );
}

function toProblem(error: ClassValidatorError): FieldProblem {
  const constraints = error.constraints ?? {};
  if (constraints.whitelistValidation) return { field: error.property, message: 'is not allowed' };
  // Messages are written without the property name ("must be a string").
  return { field: error.property, message: Object.values(constraints)[0] ?? 'is invalid' };
}
