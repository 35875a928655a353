/**
 * True when PostgreSQL refused a value the client sent rather than failed: class 22 "data
 * exception" (a NUL character, an invalid Unicode escape, a number out of range, …) and 54000
 * (a value too large to index). https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isInvalidValueError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && /^(22[0-9A-Z]{3}|54000)$/.test(code);
}
