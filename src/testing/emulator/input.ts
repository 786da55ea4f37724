/** Reading JSON 1.1 request members with the validation errors AWS answers. */
import { ApiError } from './core.js';

type Input = Readonly<Record<string, unknown>>;

/** `1 validation error detected: …` as AWS words member validation failures. */
export const validation = (message: string): ApiError => new ApiError('ValidationException', `1 validation error detected: ${message}`);

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

export const optString = (input: Input, name: string): string | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ApiError('SerializationException', `${name} must be a string`);
  return value;
};

export const reqString = (input: Input, name: string): string => {
  const value = optString(input, name);
  if (value === undefined || value === '') {
    throw validation(`Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
};

export const optNumber = (input: Input, name: string): number | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ApiError('SerializationException', `${name} must be a number`);
  return value;
};

export const optBoolean = (input: Input, name: string): boolean | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ApiError('SerializationException', `${name} must be a boolean`);
  return value;
};

export const optStringList = (input: Input, name: string): string[] | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ApiError('SerializationException', `${name} must be a list of strings`);
  return value as string[];
};

export const optStringMap = (input: Input, name: string): Record<string, string> | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new ApiError('SerializationException', `${name} must be a map of strings`);
  }
  return { ...(value as Record<string, string>) };
};

export const optObject = (input: Input, name: string): Input | undefined => {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ApiError('SerializationException', `${name} must be a structure`);
  return value as Input;
};

/** A blob member: base64 text in JSON 1.1. */
export const optBlob = (input: Input, name: string): Buffer | undefined => {
  const value = optString(input, name);
  if (value === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new ApiError('SerializationException', `${name} is not valid base64`);
  return Buffer.from(value, 'base64');
};

/** `Limit` within bounds, else the ValidationException AWS answers. */
export const limitParam = (input: Input, name: string, max: number, fallback: number): number => {
  const value = optNumber(input, name);
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw validation(`Value '${value}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must have value between 1 and ${max}`);
  }
  return value;
};
