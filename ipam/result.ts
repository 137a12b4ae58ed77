// The outcome of reading something a user wrote. Bad input is an expected answer,
// not an exception: validators collect every problem of a manifest before denying
// it, which `throw` would cut short after the first.

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
