import { useRef, useState, type FormEvent } from "react";
import { ApiError, api, type Receipt } from "../api/client";
import { failureKey } from "../api/failure";
import { withRetries } from "../api/retry";
import { Field } from "../components/Field";
import { PageHeading } from "../components/PageHeading";
import { useI18n, type MessageKey } from "../i18n";
import { useRouter } from "../router";
import { toApplication, validate, type Field as FieldName, type FieldErrors, type FormValues, type MessageKey as ErrorKey } from "../validation";

const empty: FormValues = { full_name: "", email: "", document_number: "", gender: "", amount: "" };
const order: FieldName[] = ["full_name", "email", "document_number", "gender", "amount"];
const serverFieldMessage: Record<FieldName, ErrorKey> = {
  full_name: "err.name",
  email: "err.email",
  document_number: "err.dni",
  gender: "err.gender",
  amount: "err.amount",
};

/** A new idempotency key; works outside secure contexts too. */
export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Receipts just received, so the decision page shows without a round trip. */
export const recentReceipts = new Map<string, Receipt>();

export function ApplyPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [values, setValues] = useState<FormValues>(empty);
  const [errors, setErrors] = useState<FieldErrors>({});
  // What the last attempt to send found wrong: the summary stays as it was
  // announced while the fields below update as the person types.
  const [summaryErrors, setSummaryErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<MessageKey | null>(null);
  const [sending, setSending] = useState(false);
  // Set while a filing is sent again after no answer (network, 502, 503).
  const [retrying, setRetrying] = useState<{ attempt: number; of: number } | null>(null);
  // One key per intent: kept across retries of the same content (so a retry
  // after a timeout cannot file twice), renewed when the content changes.
  const key = useRef(newKey());
  const summary = useRef<HTMLDivElement>(null);

  // A field's error stays until its value is valid (and changes with it),
  // so nobody is told "fine" at the first keystroke of a wrong value.
  const set = (f: FieldName) => (e: { target: { value: string } }) => {
    const next = { ...values, [f]: e.target.value };
    setValues(next);
    key.current = newKey();
    if (errors[f]) {
      const now = validate(next)[f];
      setErrors(({ [f]: _, ...rest }) => (now ? { ...rest, [f]: now } : rest));
    }
  };

  const showErrors = (errs: FieldErrors) => {
    setErrors(errs);
    setSummaryErrors(errs);
    const first = order.find((f) => errs[f]);
    if (first) document.getElementById(first)?.focus();
  };

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (sending) return;
    setFormError(null);
    setSummaryErrors({});
    const errs = validate(values);
    if (Object.keys(errs).length > 0) {
      showErrors(errs);
      return;
    }
    setSending(true);
    try {
      // The same key on every attempt: however many arrive, one request is filed.
      const app = toApplication(values);
      const receipt = await withRetries(() => api.submit(app, key.current), (attempt, of) => setRetrying({ attempt, of }));
      recentReceipts.set(receipt.tracking_code, receipt);
      navigate(`/requests/${receipt.tracking_code}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && Object.keys(err.fieldErrors).length > 0) {
        const mapped: FieldErrors = {};
        for (const f of order) if (err.fieldErrors[f]) mapped[f] = serverFieldMessage[f];
        showErrors(mapped);
      } else {
        setFormError(failureKey(err, { 409: "err.conflict" }));
        summary.current?.focus();
      }
    } finally {
      setSending(false);
      setRetrying(null);
    }
  }

  const nErrors = Object.keys(summaryErrors).length;
  const err = (f: FieldName) => (errors[f] ? t(errors[f]) : undefined);
  return (
    <>
      <PageHeading title={t("apply.title")} />
      <p>{t("apply.intro")}</p>
      <div ref={summary} tabIndex={-1} role="alert">
        {formError && <p className="alert">{t(formError)}</p>}
        {!formError && nErrors > 0 && (
          <div className="alert">
            <p>{nErrors === 1 ? t("errors.summary.one") : t("errors.summary", { n: nErrors })}</p>
            <ul>
              {order
                .filter((f) => summaryErrors[f])
                .map((f) => (
                  <li key={f}>
                    <a href={`#${f}`} onClick={(e) => { e.preventDefault(); document.getElementById(f)?.focus(); }}>
                      {t(summaryErrors[f]!)}
                    </a>
                  </li>
                ))}
            </ul>
          </div>
        )}
      </div>
      <div role="status">
        {retrying && <p className="notice">{t("apply.retrying", { attempt: retrying.attempt, of: retrying.of })}</p>}
      </div>
      <form onSubmit={onSubmit} noValidate aria-label={t("apply.title")}>
        <Field id="full_name" label={t("field.full_name")} error={err("full_name")}>
          {(aria) => <input {...aria} name="full_name" autoComplete="name" maxLength={200} value={values.full_name} onChange={set("full_name")} />}
        </Field>
        <Field id="email" label={t("field.email")} error={err("email")}>
          {(aria) => <input {...aria} name="email" type="email" autoComplete="email" inputMode="email" value={values.email} onChange={set("email")} />}
        </Field>
        <Field id="document_number" label={t("field.document_number")} hint={t("field.document_number.hint")} error={err("document_number")}>
          {(aria) => <input {...aria} name="document_number" inputMode="numeric" autoComplete="off" maxLength={12} value={values.document_number} onChange={set("document_number")} />}
        </Field>
        <Field id="gender" label={t("field.gender")} error={err("gender")}>
          {(aria) => (
            <select {...aria} name="gender" value={values.gender} onChange={set("gender")}>
              <option value="">—</option>
              <option value="F">{t("gender.F")}</option>
              <option value="M">{t("gender.M")}</option>
              <option value="X">{t("gender.X")}</option>
            </select>
          )}
        </Field>
        <Field id="amount" label={t("field.amount")} hint={t("field.amount.hint")} error={err("amount")}>
          {(aria) => <input {...aria} name="amount" inputMode="numeric" autoComplete="off" value={values.amount} onChange={set("amount")} />}
        </Field>
        <button type="submit" disabled={sending} aria-disabled={sending}>
          {sending ? t("apply.sending") : t("apply.submit")}
        </button>
      </form>
    </>
  );
}
