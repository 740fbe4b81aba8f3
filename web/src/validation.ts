// The same rules as the API (internal/domain/loan.go), checked in the browser
// first so people see every problem at once. The API checks again.
import type { Application, Gender } from "./api/client";
import type { MessageKey as I18nKey } from "./i18n";

export type Field = "full_name" | "email" | "document_number" | "gender" | "amount";
export type FormValues = Record<Field, string>;
export type FieldErrors = Partial<Record<Field, MessageKey>>;
export type MessageKey = Extract<I18nKey, `err.${string}`>;

export const MIN_AMOUNT = 10_000;
export const MAX_AMOUNT = 5_000_000;

const controlOrFormat = /[\p{Cc}\p{Cf}]/u;

export function normalizeDNI(s: string): string {
  return s.trim().replace(/[.\s-]/g, "");
}

export function validate(v: FormValues): FieldErrors {
  const errors: FieldErrors = {};
  const name = v.full_name.trim().split(/\s+/).join(" ");
  const runes = [...name].length;
  if (runes === 0) errors.full_name = "err.name.empty";
  else if (runes < 2 || runes > 120) errors.full_name = "err.name";
  else if (controlOrFormat.test(name)) errors.full_name = "err.name.control";
  else if ((name.match(/\p{L}/gu) ?? []).length < 2) errors.full_name = "err.name.letters";

  const email = v.email.trim();
  if (email === "") errors.email = "err.email.empty";
  else if (email.length > 254 || !/^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:.]+$/.test(email) || /[^\x21-\x7e]/.test(email)) {
    errors.email = "err.email";
  }
  const dni = normalizeDNI(v.document_number);
  if (dni === "") errors.document_number = "err.dni.empty";
  else if (!/^\d{7,8}$/.test(dni)) errors.document_number = "err.dni";
  if (!["F", "M", "X"].includes(v.gender)) errors.gender = "err.gender";
  const amount = parseAmount(v.amount);
  if (v.amount.trim() === "") errors.amount = "err.amount.empty";
  else if (amount === null || amount < MIN_AMOUNT || amount > MAX_AMOUNT) errors.amount = "err.amount";
  return errors;
}

/** Whole pesos; "150000", "150.000" and "150,000" are the same amount. */
export function parseAmount(s: string): number | null {
  const v = s.trim().replace(/\s/g, "");
  if (/^\d+$/.test(v)) return Number(v);
  if (/^\d{1,3}([.,]\d{3})+$/.test(v)) return Number(v.replace(/[.,]/g, ""));
  return null;
}

export function toApplication(v: FormValues): Application {
  return {
    full_name: v.full_name.trim().split(/\s+/).join(" "),
    email: v.email.trim(),
    document_number: normalizeDNI(v.document_number),
    gender: v.gender as Gender,
    amount: parseAmount(v.amount) ?? NaN,
  };
}
