import { useState, type FormEvent } from "react";
import { api } from "../api/client";
import { failureKey } from "../api/failure";
import { Field } from "../components/Field";
import { PageHeading } from "../components/PageHeading";
import { useI18n, type MessageKey } from "../i18n";
import { useRouter } from "../router";
import { recentReceipts } from "./ApplyPage";

const CODE = /^LD-[0-9A-Z]{10}$/;

/** What is wrong with a typed code, before asking the server. */
export function checkCode(raw: string): MessageKey | null {
  const c = raw.trim().toUpperCase();
  if (c === "") return "track.empty";
  return CODE.test(c) ? null : "track.invalid";
}

export function TrackPage() {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [code, setCode] = useState("");
  const [error, setError] = useState<MessageKey | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const bad = checkCode(code);
    if (bad) {
      setError(bad);
      document.getElementById("code")?.focus();
      return;
    }
    const c = code.trim().toUpperCase();
    setBusy(true);
    try {
      const r = await api.track(c);
      recentReceipts.set(c, r);
      navigate(`/requests/${c}`);
    } catch (err) {
      setError(failureKey(err, { 404: "track.notfound" }));
      document.getElementById("code")?.focus();
    } finally {
      setBusy(false);
    }
  }

  // A format error stays until the code has the right shape; "not found"
  // and network errors go as soon as the code changes (it may be right now).
  function onChange(v: string) {
    setCode(v);
    if (error) setError(error === "track.empty" || error === "track.invalid" ? checkCode(v) : null);
  }

  return (
    <>
      <PageHeading title={t("track.title")} />
      <form onSubmit={onSubmit} noValidate aria-label={t("track.title")}>
        <Field id="code" label={t("track.label")} hint={t("track.hint")} error={error ? t(error) : undefined} announce>
          {(aria) => <input {...aria} name="code" autoComplete="off" spellCheck={false} value={code} onChange={(e) => onChange(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          {t("track.submit")}
        </button>
      </form>
    </>
  );
}
